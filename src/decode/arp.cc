// ARP (RFC 826). Only Ethernet/IPv4 ARP is decoded in full; other hardware or
// protocol types keep their type fields and are flagged kBadArp.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kFixedLen = 8;
constexpr uint16_t kHwEthernet = 1;
constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint8_t kMacLen = 6;
constexpr uint8_t kIpv4Len = 4;
}  // namespace

void decode_arp(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kArp);
  p.l3 = L3::kArp;
  if (r.remaining() < kFixedLen) {
    fail(c, DecodeError::kTruncatedArp);
    return;
  }
  const uint8_t* h = r.cur();
  p.arp.hw_type = load_be16(h);
  p.arp.proto_type = load_be16(h + 2);
  uint8_t hlen = h[4];
  uint8_t plen = h[5];
  p.arp.opcode = load_be16(h + 6);
  size_t need = kFixedLen + 2 * (static_cast<size_t>(hlen) + plen);
  if (r.remaining() < need) {
    fail(c, DecodeError::kTruncatedArp);
    return;
  }
  if (p.arp.hw_type != kHwEthernet || p.arp.proto_type != kProtoIpv4 || hlen != kMacLen ||
      plen != kIpv4Len) {
    fail(c, DecodeError::kBadArp);
    return;
  }
  const uint8_t* a = h + kFixedLen;
  std::copy(a, a + 6, p.arp.sender_mac.begin());
  p.arp.sender_ip = IpAddr::v4(a + 6);
  std::copy(a + 10, a + 16, p.arp.target_mac.begin());
  p.arp.target_ip = IpAddr::v4(a + 16);
}

}  // namespace tapir::decode::detail
