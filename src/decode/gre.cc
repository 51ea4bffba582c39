// GRE (RFC 2784 with the RFC 2890 key and sequence extensions), also when
// carried in UDP (RFC 8086). Carries IPv4, IPv6, MPLS, transparent Ethernet
// bridging and ERSPAN type I/II/III mirrored frames.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kBaseLen = 4;
constexpr uint16_t kFlagChecksum = 0x8000;
constexpr uint16_t kFlagRouting = 0x4000;
constexpr uint16_t kFlagKey = 0x2000;
constexpr uint16_t kFlagSeq = 0x1000;
constexpr uint16_t kVersionMask = 0x0007;

constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint16_t kProtoIpv6 = 0x86dd;
constexpr uint16_t kProtoTeb = 0x6558;  // transparent Ethernet bridging
constexpr uint16_t kProtoMpls = 0x8847;
constexpr uint16_t kProtoErspan2 = 0x88be;  // type I without sequence, type II with
constexpr uint16_t kProtoErspan3 = 0x22eb;
constexpr size_t kErspan2Len = 8;
constexpr size_t kErspan3Len = 12;
constexpr size_t kErspan3SubLen = 8;  // optional platform-specific subheader
}  // namespace

void decode_gre(Ctx& c, ByteReader r, bool in_udp) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kGre);
  if (r.remaining() < kBaseLen) {
    fail(c, DecodeError::kTruncatedGre);
    return;
  }
  const uint8_t* h = r.cur();
  uint16_t flags = load_be16(h);
  uint16_t proto = load_be16(h + 2);
  // Version 1 is PPTP's enhanced GRE (PPP inside) and source routing is
  // obsolete (RFC 2784): neither is decoded.
  if ((flags & kVersionMask) != 0 || (flags & kFlagRouting)) {
    fail(c, DecodeError::kUnsupportedGre);
    return;
  }
  size_t hlen = kBaseLen;
  if (flags & kFlagChecksum) hlen += 4;
  size_t key_at = hlen;
  if (flags & kFlagKey) hlen += 4;
  if (flags & kFlagSeq) hlen += 4;
  if (r.remaining() < hlen) {
    fail(c, DecodeError::kTruncatedGre);
    return;
  }
  uint32_t key = (flags & kFlagKey) ? load_be32(h + key_at) : 0;
  r.skip(hlen);

  bool ethernet = false;
  size_t skip = 0;
  switch (proto) {
    case kProtoIpv4:
    case kProtoIpv6:
    case kProtoMpls:
      break;
    case kProtoTeb:
      ethernet = true;
      break;
    case kProtoErspan2:
      ethernet = true;
      skip = (flags & kFlagSeq) ? kErspan2Len : 0;
      break;
    case kProtoErspan3:
      ethernet = true;
      skip = kErspan3Len;
      if (r.remaining() >= kErspan3Len && (r.cur()[kErspan3Len - 1] & 0x01)) {
        skip += kErspan3SubLen;
      }
      break;
    default:
      // Something we do not decode (PPP, IPX ...): the GRE body is the payload.
      p.payload = r.cur();
      p.payload_len = static_cast<uint32_t>(r.remaining());
      p.payload_wire_len = p.payload_len;
      return;
  }
  if (!r.skip(skip)) {
    fail(c, DecodeError::kTruncatedGre);
    return;
  }
  if (!enter_tunnel(c, in_udp ? TunnelKind::kGreInUdp : TunnelKind::kGre, key)) {
    if (p.error == DecodeError::kNone) {
      p.payload = r.cur();
      p.payload_len = static_cast<uint32_t>(r.remaining());
      p.payload_wire_len = p.payload_len;
    }
    return;
  }
  if (ethernet) {
    decode_ethernet(c, r);
  } else {
    decode_ethertype(c, proto, r);
  }
}

}  // namespace tapir::decode::detail
