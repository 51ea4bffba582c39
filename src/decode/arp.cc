// ARP (RFC 826). Ethernet/IPv4 ARP is decoded in full. Other types or address
// lengths are flagged kBadArp; they keep their type and length fields, and
// the addresses that still have a known form (MACs where the hardware is
// Ethernet with 6-byte addresses, IPv4 where the protocol is IPv4 with 4),
// read at the offsets the lengths give, as tshark shows them.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kFixedLen = 8;
constexpr uint16_t kHwEthernet = 1;
constexpr uint16_t kHwIeee802 = 6;  // RFC 1042: IEEE 802 networks use 6-byte MACs too
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
  p.arp.hw_len = hlen;
  p.arp.proto_len = plen;
  const uint8_t* a = h + kFixedLen;  // sender hw, sender proto, target hw, target proto
  p.arp.has_macs = (p.arp.hw_type == kHwEthernet || p.arp.hw_type == kHwIeee802) &&
                   hlen == kMacLen;
  if (p.arp.has_macs) {
    std::copy(a, a + kMacLen, p.arp.sender_mac.begin());
    std::copy(a + hlen + plen, a + hlen + plen + kMacLen, p.arp.target_mac.begin());
  }
  if (p.arp.proto_type == kProtoIpv4 && plen == kIpv4Len) {
    p.arp.sender_ip = IpAddr::v4(a + hlen);
    p.arp.target_ip = IpAddr::v4(a + 2 * hlen + plen);
  }
  if (p.arp.hw_type != kHwEthernet || p.arp.proto_type != kProtoIpv4 || hlen != kMacLen ||
      plen != kIpv4Len) {
    fail(c, DecodeError::kBadArp);
  }
}

}  // namespace tapir::decode::detail
