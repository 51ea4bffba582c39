// UDP header (RFC 768) with length checks, and the port-based hand-off to the
// UDP tunnels (VXLAN, GRE-in-UDP, Teredo).
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kHeaderLen = 8;
constexpr size_t kPortsLen = 4;
}  // namespace

void decode_udp(Ctx& c, ByteReader r, uint32_t wire_len) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kUdp);
  const uint8_t* h = r.cur();
  if (r.remaining() >= kPortsLen) {
    p.src_port = load_be16(h);
    p.dst_port = load_be16(h + 2);
  }
  if (r.remaining() < kHeaderLen) {
    fail(c, DecodeError::kTruncatedUdp);
    return;
  }
  size_t ulen = load_be16(h + 4);
  // A first fragment (not reassembled) carries only part of the datagram, so
  // the UDP length may exceed what the IP header announces for it.
  if (ulen < kHeaderLen || (!c.first_fragment && ulen > wire_len)) {
    fail(c, DecodeError::kBadUdpLength);
    return;
  }
  size_t avail = std::min(r.remaining(), ulen);
  p.payload = h + kHeaderLen;
  p.payload_len = static_cast<uint32_t>(avail - kHeaderLen);
  p.payload_wire_len = static_cast<uint32_t>(ulen - kHeaderLen);
  if (!c.cfg.decode_tunnels || c.first_fragment) return;

  // The well-known port may be on either side (replies come from it, and
  // some senders use it as source port too), as tshark reads them. The
  // destination port is tried first; each decoder checks its header and
  // declines what does not look like its tunnel, which then stays UDP.
  ByteReader payload(p.payload, p.payload_len);
  const uint32_t wire = p.payload_wire_len;
  auto tunnel_on = [&](uint16_t port) {
    if (port == 0) return false;
    if (port == c.cfg.vxlan_port) return decode_vxlan(c, payload);
    if (port == c.cfg.geneve_port) return decode_geneve(c, payload);
    if (port == c.cfg.gre_udp_port) {
      decode_gre(c, payload, true);
      return true;
    }
    if (port == c.cfg.teredo_port) return decode_teredo(c, payload, wire);
    return false;
  };
  if (!tunnel_on(p.dst_port) && p.src_port != p.dst_port) tunnel_on(p.src_port);
}

}  // namespace tapir::decode::detail
