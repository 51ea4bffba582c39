// VXLAN (RFC 7348): 8-byte header with the I flag and a 24-bit VNI, then an
// Ethernet frame.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr uint8_t kFlagVniValid = 0x08;
}  // namespace

bool decode_vxlan(Ctx& c, ByteReader r) {
  if (r.remaining() < kHeaderLen) {
    add_layer(c.pkt, LayerTag::kVxlan);
    fail(c, DecodeError::kTruncatedVxlan);
    return true;
  }
  const uint8_t* h = r.cur();
  // Without the I flag this is not VXLAN as RFC 7348 defines it: leave it as UDP.
  if ((h[0] & kFlagVniValid) == 0) return false;
  uint32_t vni = load_be24(h + 4);
  add_layer(c.pkt, LayerTag::kVxlan);
  if (!enter_tunnel(c, TunnelKind::kVxlan, vni)) return true;
  r.skip(kHeaderLen);
  decode_ethernet(c, r);
  return true;
}

}  // namespace tapir::decode::detail
