// Entering a tunnel: the outer addresses go to Packet::tunnel (outermost
// tunnel only) and the inner packet's headers replace the outer L3/L4 view.
#include "decode/walk.h"

namespace tapir::decode::detail {

void reset_inner(Packet& p) {
  p.l3 = L3::kNone;
  p.src_ip = {};
  p.dst_ip = {};
  p.ip_proto = 0;
  p.ttl = 0;
  p.ip_id = 0;
  p.ip_len = 0;
  p.l3_data = nullptr;
  p.is_fragment = false;
  p.src_port = 0;
  p.dst_port = 0;
  p.tcp_flags = 0;
  p.tcp_seq = 0;
  p.tcp_ack = 0;
  p.tcp_window = 0;
  p.icmp = {};
  p.arp = {};
  p.payload = nullptr;
  p.payload_len = 0;
  p.payload_wire_len = 0;
}

bool enter_tunnel(Ctx& c, TunnelKind kind, uint32_t id) {
  if (!c.cfg.decode_tunnels) return false;
  int max_depth = std::min(c.cfg.max_tunnel_depth, kHardMaxTunnelDepth);
  if (c.depth >= max_depth) {
    fail(c, DecodeError::kTooManyTunnels);
    return false;
  }
  Packet& p = c.pkt;
  if (c.depth == 0) {
    p.tunnel.kind = kind;
    p.tunnel.outer_src = p.src_ip;
    p.tunnel.outer_dst = p.dst_ip;
    p.tunnel.id = id;
  }
  ++c.depth;
  p.tunnel.depth = static_cast<uint8_t>(c.depth);
  c.first_fragment = false;
  reset_inner(p);
  return true;
}

}  // namespace tapir::decode::detail
