// Link layers other than Ethernet: Linux cooked capture v1 and v2, BSD
// loopback (DLT_NULL / DLT_LOOP) and raw IP.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {

constexpr size_t kSllHeaderLen = 16;
constexpr size_t kSll2HeaderLen = 20;
constexpr size_t kNullHeaderLen = 4;
// SLL protocol values that are not EtherTypes (see linux/if_ether.h).
constexpr uint16_t kSllProtoLlc = 0x0004;  // 802.2 LLC frame follows
// ARPHRD_* types whose SLL protocol field is not an EtherType: netlink, etc.
constexpr uint16_t kArphrdNetlink = 824;

// BSD address family values for IPv4/IPv6. AF_INET6 differs per OS: 24
// (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS); 10 is Linux's, seen in pcaps
// written by Linux tools for DLT_NULL.
constexpr uint32_t kAfInet = 2;
bool is_af_inet6(uint32_t af) { return af == 24 || af == 28 || af == 30 || af == 10; }

void decode_sll_protocol(Ctx& c, uint16_t arphrd, uint16_t proto, ByteReader r) {
  if (arphrd == kArphrdNetlink || proto == kSllProtoLlc || proto < 0x0600) {
    c.pkt.l3 = L3::kOther;
    add_layer(c.pkt, LayerTag::kOther);
    return;
  }
  decode_ethertype(c, proto, r);
}

}  // namespace

void decode_sll(Ctx& c, ByteReader r) {
  if (r.remaining() < kSllHeaderLen) {
    fail(c, DecodeError::kTruncatedLink);
    return;
  }
  const uint8_t* h = r.cur();
  uint16_t arphrd = load_be16(h + 2);
  uint16_t proto = load_be16(h + 14);
  r.skip(kSllHeaderLen);
  add_layer(c.pkt, LayerTag::kSll);
  decode_sll_protocol(c, arphrd, proto, r);
}

void decode_sll2(Ctx& c, ByteReader r) {
  if (r.remaining() < kSll2HeaderLen) {
    fail(c, DecodeError::kTruncatedLink);
    return;
  }
  const uint8_t* h = r.cur();
  uint16_t proto = load_be16(h);
  uint16_t arphrd = load_be16(h + 8);
  r.skip(kSll2HeaderLen);
  add_layer(c.pkt, LayerTag::kSll2);
  decode_sll_protocol(c, arphrd, proto, r);
}

void decode_null(Ctx& c, ByteReader r, bool network_order) {
  if (r.remaining() < kNullHeaderLen) {
    fail(c, DecodeError::kTruncatedLink);
    return;
  }
  uint32_t af;
  if (network_order) {
    af = load_be32(r.cur());
  } else {
    // Host order of the capturing machine, which we do not know: families are
    // small numbers, so a value with high bits set was written the other way.
    af = load_le32(r.cur());
    if (af & 0xffff0000u) af = load_be32(r.cur());
  }
  r.skip(kNullHeaderLen);
  add_layer(c.pkt, LayerTag::kNull);
  if (af == kAfInet) {
    c.pkt.ether_type = 0x0800;
    decode_ipv4(c, r);
  } else if (is_af_inet6(af)) {
    c.pkt.ether_type = 0x86dd;
    decode_ipv6(c, r);
  } else {
    c.pkt.l3 = L3::kOther;
    add_layer(c.pkt, LayerTag::kOther);
  }
}

void decode_raw(Ctx& c, ByteReader r, int version) {
  if (version == 0) {
    if (r.remaining() < 1) {
      fail(c, DecodeError::kTruncatedLink);
      return;
    }
    version = r.cur()[0] >> 4;
  }
  if (version == 6) {
    c.pkt.ether_type = 0x86dd;
    decode_ipv6(c, r);
  } else if (version == 4) {
    c.pkt.ether_type = 0x0800;
    decode_ipv4(c, r);
  } else {
    fail(c, DecodeError::kBadIpv4Version);
  }
}

}  // namespace tapir::decode::detail
