// Teredo (RFC 4380): IPv6 in UDP port 3544, optionally preceded by an
// authentication and/or an origin indication header. Port 3544 carries other
// traffic too, so the inner IPv6 header must be consistent with the UDP
// length to the byte (as Suricata and Zeek also require) before it is taken.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kIpv6HeaderLen = 40;
constexpr size_t kAuthFixedLen = 4;   // indicator, id length, auth length
constexpr size_t kAuthTrailerLen = 9;  // nonce (8) + confirmation (1)
constexpr size_t kOriginLen = 8;
}  // namespace

bool decode_teredo(Ctx& c, ByteReader r, uint32_t wire_len) {
  const uint8_t* p = r.cur();
  size_t n = r.remaining();
  size_t off = 0;
  if (n >= 2 && p[0] == 0 && p[1] == 1) {
    if (n < kAuthFixedLen) return false;
    off = kAuthFixedLen + p[2] + p[3] + kAuthTrailerLen;
  }
  if (n >= off + 2 && p[off] == 0 && p[off + 1] == 0) off += kOriginLen;
  if (n < off + kIpv6HeaderLen || wire_len < off + kIpv6HeaderLen) return false;
  const uint8_t* ip = p + off;
  if ((ip[0] >> 4) != 6) return false;
  if (kIpv6HeaderLen + load_be16(ip + 4) != wire_len - off) return false;
  add_layer(c.pkt, LayerTag::kTeredo);
  if (!enter_tunnel(c, TunnelKind::kTeredo, 0)) return true;
  c.pkt.ether_type = 0x86dd;
  r.skip(off);
  decode_ipv6(c, r);
  return true;
}

}  // namespace tapir::decode::detail
