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

  ByteReader payload(p.payload, p.payload_len);
  uint16_t sport = p.src_port;
  uint16_t dport = p.dst_port;
  if (dport == c.cfg.vxlan_port) {
    decode_vxlan(c, payload);
  } else if (dport == c.cfg.gre_udp_port) {
    decode_gre(c, payload, true);
  } else if (dport == c.cfg.teredo_port || sport == c.cfg.teredo_port) {
    decode_teredo(c, payload, p.payload_wire_len);
  }
}

}  // namespace tapir::decode::detail
