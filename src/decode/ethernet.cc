// Ethernet II and IEEE 802.3 (LLC/SNAP) framing, and the EtherType dispatch
// shared by every layer that carries an EtherType (SLL, VLAN, GRE).
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {

constexpr size_t kEthHeaderLen = 14;
// EtherType values at or below this are an 802.3 length field, not a type.
constexpr uint16_t kMax8023Length = 1500;
constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint16_t kEtherQinQOld = 0x9100;  // pre-802.1ad QinQ, still seen in the wild
constexpr uint16_t kEtherMplsUnicast = 0x8847;
constexpr uint16_t kEtherMplsMulticast = 0x8848;

// 802.2 LLC with a SNAP header (AA AA 03 + 3-byte OUI 0) carries an EtherType.
void decode_llc(Ctx& c, ByteReader r) {
  constexpr size_t kSnapLen = 8;
  const uint8_t* p = r.cur();
  if (r.remaining() >= kSnapLen && p[0] == 0xaa && p[1] == 0xaa && p[2] == 0x03 && p[3] == 0 &&
      p[4] == 0 && p[5] == 0) {
    uint16_t type = load_be16(p + 6);
    r.skip(kSnapLen);
    decode_ethertype(c, type, r);
    return;
  }
  c.pkt.l3 = L3::kOther;  // STP, CDP, IPX ... : nothing we decode further
}

}  // namespace

void decode_ethernet(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  if (r.remaining() < kEthHeaderLen) {
    fail(c, DecodeError::kTruncatedLink);
    return;
  }
  const uint8_t* h = r.cur();
  if (!p.has_eth) {  // keep the outermost Ethernet header (tunnels may carry another)
    p.has_eth = true;
    std::copy(h, h + 6, p.eth_dst.begin());
    std::copy(h + 6, h + 12, p.eth_src.begin());
  }
  uint16_t type = load_be16(h + 12);
  r.skip(kEthHeaderLen);
  add_layer(p, LayerTag::kEth);
  if (type <= kMax8023Length) {
    // 802.3: the field is the frame length; trim to it (it excludes padding).
    ByteReader llc;
    if (!r.sub(std::min<size_t>(type, r.remaining()), llc)) return;
    decode_llc(c, llc);
    return;
  }
  decode_ethertype(c, type, r);
}

void decode_ethertype(Ctx& c, uint16_t type, ByteReader r) {
  Packet& p = c.pkt;
  switch (type) {
    case kEtherVlan:
    case kEtherQinQ:
    case kEtherQinQOld:
      decode_vlan(c, r);
      return;
    case kEtherMplsUnicast:
    case kEtherMplsMulticast:
      p.ether_type = type;
      decode_mpls(c, r);
      return;
    case kEtherIpv4:
      p.ether_type = type;
      decode_ipv4(c, r);
      return;
    case kEtherIpv6:
      p.ether_type = type;
      decode_ipv6(c, r);
      return;
    case kEtherArp:
      p.ether_type = type;
      decode_arp(c, r);
      return;
    default:
      p.ether_type = type;
      p.l3 = L3::kOther;
      add_layer(p, LayerTag::kOther);
      return;
  }
}

}  // namespace tapir::decode::detail
