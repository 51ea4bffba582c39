// Filling the common header (fields 1-9) shared by the event messages.
#pragma once

#include "common/time.h"
#include "decode/packet.h"
#include "flow/flow.h"
#include "tapir/v1/events.pb.h"

namespace tapir::analyzers {

inline void set_timestamp(google::protobuf::Timestamp* t, TimeNs ns) {
  int64_t s = ns / kNsPerSec;
  int64_t n = ns % kNsPerSec;
  if (n < 0) {
    n += kNsPerSec;
    s -= 1;
  }
  t->set_seconds(s);
  t->set_nanos(static_cast<int32_t>(n));
}

inline void set_tunnel(v1::Tunnel* t, const decode::TunnelInfo& info) {
  t->set_type(static_cast<v1::TunnelType>(info.kind));
  t->set_src_ip(info.outer_src.raw());
  t->set_dst_ip(info.outer_dst.raw());
  t->set_id(info.id);
  t->set_depth(info.depth);
}

// Header from a flow, oriented as the flow is (src = originator). Pass
// `reverse` to orient it the other way (e.g. a DNS event whose client is the
// flow's responder).
template <class Msg>
void fill_flow_header(Msg& m, const flow::FlowRecord& f, TimeNs ts, uint32_t sampling_rate,
                      bool reverse = false) {
  set_timestamp(m.mutable_ts(), ts);
  m.set_community_id(f.community_id);
  for (int i = 0; i < f.vlan_count; ++i) m.add_vlan(f.vlans[i]);
  if (f.tunnel.kind != decode::TunnelKind::kNone) {
    set_tunnel(m.mutable_tunnel(), f.tunnel);
    m.mutable_tunnel()->set_community_id(f.tunnel_community_id);
  }
  m.set_sampling_rate(sampling_rate);
  const int s = reverse ? 1 : 0;
  auto* src = m.mutable_src();
  auto* dst = m.mutable_dst();
  src->set_ip(reverse ? f.dst_ip.raw() : f.src_ip.raw());
  src->set_port(reverse ? f.dst_port : f.src_port);
  dst->set_ip(reverse ? f.src_ip.raw() : f.dst_ip.raw());
  dst->set_port(reverse ? f.src_port : f.dst_port);
  if (f.dir[s].has_mac)
    src->set_mac(std::string(reinterpret_cast<const char*>(f.dir[s].mac.data()), 6));
  if (f.dir[1 - s].has_mac)
    dst->set_mac(std::string(reinterpret_cast<const char*>(f.dir[1 - s].mac.data()), 6));
  m.set_ip_proto(f.ip_proto);
  m.set_ip_version(f.ip_version);
}

// Header from a single packet (src = the packet's sender).
template <class Msg>
void fill_packet_header(Msg& m, const decode::Packet& p, uint32_t sampling_rate) {
  set_timestamp(m.mutable_ts(), p.ts);
  for (int i = 0; i < p.vlan_count; ++i) m.add_vlan(p.vlans[i]);
  if (p.tunnel.kind != decode::TunnelKind::kNone) set_tunnel(m.mutable_tunnel(), p.tunnel);
  m.set_sampling_rate(sampling_rate);
  auto* src = m.mutable_src();
  auto* dst = m.mutable_dst();
  src->set_ip(p.src_ip.raw());
  src->set_port(p.src_port);
  dst->set_ip(p.dst_ip.raw());
  dst->set_port(p.dst_port);
  if (p.has_eth) {
    src->set_mac(std::string(reinterpret_cast<const char*>(p.eth_src.data()), 6));
    dst->set_mac(std::string(reinterpret_cast<const char*>(p.eth_dst.data()), 6));
  }
  m.set_ip_proto(p.ip_proto);
  m.set_ip_version(static_cast<uint32_t>(p.ip_version()));
}

}  // namespace tapir::analyzers
