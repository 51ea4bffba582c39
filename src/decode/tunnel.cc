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
    p.tunnel.outer_proto = p.ip_proto;
    p.tunnel.outer_sport = p.src_port;
    p.tunnel.outer_dport = p.dst_port;
  }
  // The carrier's headers, before the inner packet replaces them. An IP
  // header is in front unless a tunnel sits directly in another (ERSPAN's
  // Ethernet-less IP frames still have one); without it there is no flow.
  if (p.outer_count < kMaxOuterLayers && p.is_ip() && !p.is_fragment) {
    OuterLayer& o = p.outer[p.outer_count++];
    o.src_ip = p.src_ip;
    o.dst_ip = p.dst_ip;
    o.ip_len = p.ip_len;
    o.payload_wire_len = p.payload_wire_len;
    o.src_port = p.src_port;
    o.dst_port = p.dst_port;
    o.ip_proto = p.ip_proto;
    o.ttl = p.ttl;
    o.vlan_count = p.vlan_count;
    o.kind = kind;
  }
  ++c.depth;
  p.tunnel.depth = static_cast<uint8_t>(c.depth);
  c.first_fragment = false;
  reset_inner(p);
  return true;
}

}  // namespace tapir::decode::detail

namespace tapir::decode {

void outer_packet(const Packet& p, int level, Packet& out) {
  const OuterLayer& o = p.outer[static_cast<size_t>(level)];
  out.ts = p.ts;
  out.caplen = p.caplen;
  out.wirelen = p.wirelen;
  out.frame = p.frame;
  out.has_eth = p.has_eth;
  out.eth_src = p.eth_src;
  out.eth_dst = p.eth_dst;
  out.ether_type = o.src_ip.version == 4 ? 0x0800 : 0x86dd;
  out.vlan_count = o.vlan_count;
  out.vlans = p.vlans;
  out.mpls_count = p.mpls_count;
  out.tunnel = TunnelInfo{};
  if (level > 0) {
    out.tunnel = p.tunnel;
    out.tunnel.depth = static_cast<uint8_t>(level);
  }
  out.outer_count = 0;
  out.l3 = o.src_ip.version == 4 ? L3::kIpv4 : L3::kIpv6;
  out.src_ip = o.src_ip;
  out.dst_ip = o.dst_ip;
  out.ip_proto = o.ip_proto;
  out.ttl = o.ttl;
  out.ip_id = 0;
  out.ip_len = o.ip_len;
  out.l3_data = nullptr;
  out.reassembled = false;
  out.is_fragment = false;
  out.src_port = o.src_port;
  out.dst_port = o.dst_port;
  out.tcp_flags = 0;
  out.tcp_seq = out.tcp_ack = 0;
  out.tcp_window = 0;
  out.icmp = IcmpInfo{};
  out.payload = nullptr;
  out.payload_len = 0;
  out.payload_wire_len = o.payload_wire_len;
  out.error = DecodeError::kNone;
  out.layer_count = 0;
}

}  // namespace tapir::decode
