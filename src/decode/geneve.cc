// Geneve (RFC 8926): an 8-byte header (version, options length in 4-byte
// words, O and C flags, protocol type, 24-bit VNI), variable-length options,
// then the payload the protocol type names: Ethernet (0x6558), IPv4 or IPv6.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr uint8_t kVersion = 0;  // the only one RFC 8926 defines
constexpr uint16_t kProtoTeb = 0x6558;
constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint16_t kProtoIpv6 = 0x86dd;
}  // namespace

bool decode_geneve(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  if (r.remaining() < kHeaderLen) {
    add_layer(p, LayerTag::kGeneve);
    fail(c, DecodeError::kTruncatedGeneve);
    return true;
  }
  const uint8_t* h = r.cur();
  // Another version is not a header this decoder can read: leave it as UDP.
  if ((h[0] >> 6) != kVersion) return false;
  const size_t options = static_cast<size_t>(h[0] & 0x3f) * 4;  // at most 252 bytes
  const uint16_t proto = load_be16(h + 2);
  const uint32_t vni = load_be24(h + 4);
  add_layer(p, LayerTag::kGeneve);
  if (r.remaining() < kHeaderLen + options) {
    fail(c, DecodeError::kTruncatedGeneve);
    return true;
  }
  r.skip(kHeaderLen + options);
  if (proto != kProtoTeb && proto != kProtoIpv4 && proto != kProtoIpv6) {
    // A payload we do not decode (NSH, MPLS ...): the Geneve body is the payload.
    p.payload = r.cur();
    p.payload_len = static_cast<uint32_t>(r.remaining());
    p.payload_wire_len = p.payload_len;
    return true;
  }
  if (!enter_tunnel(c, TunnelKind::kGeneve, vni)) return true;
  if (proto == kProtoTeb) {
    decode_ethernet(c, r);
  } else {
    decode_ethertype(c, proto, r);
  }
  return true;
}

}  // namespace tapir::decode::detail
