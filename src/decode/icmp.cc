// ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code, echo identifier and
// sequence, and for error messages the quoted packet that caused them.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kTypeCodeLen = 4;  // type, code, checksum
constexpr size_t kHeaderLen = 8;    // plus the type-specific word

bool icmp4_has_id_seq(uint8_t type) {
  // echo reply/request, timestamp, information, address mask request/reply
  return type == 0 || type == 8 || (type >= 13 && type <= 18);
}
bool icmp4_is_error(uint8_t type) {
  // unreachable, source quench, redirect, time exceeded, parameter problem
  return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}
bool icmp6_has_id_seq(uint8_t type) { return type == 128 || type == 129; }
bool icmp6_is_error(uint8_t type) { return type >= 1 && type <= 4; }

void decode_common(Ctx& c, ByteReader r, uint32_t wire_len, bool has_id_seq, bool is_error) {
  Packet& p = c.pkt;
  const uint8_t* h = r.cur();
  if ((has_id_seq || is_error) && r.remaining() < kHeaderLen) {
    fail(c, DecodeError::kTruncatedIcmp);
    return;
  }
  if (has_id_seq) {
    p.icmp.id = load_be16(h + 4);
    p.icmp.seq = load_be16(h + 6);
  }
  size_t body = std::min(r.remaining(), kHeaderLen);
  if (is_error) {
    p.icmp.quoted = h + kHeaderLen;
    p.icmp.quoted_len = static_cast<uint32_t>(r.remaining() - kHeaderLen);
  }
  p.payload = h + body;
  p.payload_len = static_cast<uint32_t>(r.remaining() - body);
  p.payload_wire_len = wire_len > body ? static_cast<uint32_t>(wire_len - body) : 0;
}
}  // namespace

void decode_icmp(Ctx& c, ByteReader r, uint32_t wire_len) {
  add_layer(c.pkt, LayerTag::kIcmp);
  if (r.remaining() < kTypeCodeLen) {
    fail(c, DecodeError::kTruncatedIcmp);
    return;
  }
  uint8_t type = r.cur()[0];
  c.pkt.icmp.type = type;
  c.pkt.icmp.code = r.cur()[1];
  decode_common(c, r, wire_len, icmp4_has_id_seq(type), icmp4_is_error(type));
}

void decode_icmpv6(Ctx& c, ByteReader r, uint32_t wire_len) {
  add_layer(c.pkt, LayerTag::kIcmpv6);
  if (r.remaining() < kTypeCodeLen) {
    fail(c, DecodeError::kTruncatedIcmp);
    return;
  }
  uint8_t type = r.cur()[0];
  c.pkt.icmp.type = type;
  c.pkt.icmp.code = r.cur()[1];
  decode_common(c, r, wire_len, icmp6_has_id_seq(type), icmp6_is_error(type));
}

}  // namespace tapir::decode::detail
