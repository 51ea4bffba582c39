// IEEE 802.1Q / 802.1ad VLAN tags, any number stacked (QinQ and beyond), up
// to kMaxVlans. Tag ids are recorded outermost first.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kTagLen = 4;  // TCI + inner EtherType
constexpr uint16_t kVlanIdMask = 0x0fff;
bool is_vlan_type(uint16_t t) { return t == 0x8100 || t == 0x88a8 || t == 0x9100; }
}  // namespace

void decode_vlan(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  // Each pass consumes one tag; the loop ends after kMaxVlans + 1 tags at most.
  for (;;) {
    if (r.remaining() < kTagLen) {
      fail(c, DecodeError::kTruncatedVlan);
      return;
    }
    if (p.vlan_count >= kMaxVlans) {
      fail(c, DecodeError::kTooManyVlans);
      return;
    }
    const uint8_t* h = r.cur();
    p.vlans[p.vlan_count++] = load_be16(h) & kVlanIdMask;
    uint16_t type = load_be16(h + 2);
    r.skip(kTagLen);
    add_layer(p, LayerTag::kVlan);
    if (!is_vlan_type(type)) {
      decode_ethertype(c, type, r);
      return;
    }
  }
}

}  // namespace tapir::decode::detail
