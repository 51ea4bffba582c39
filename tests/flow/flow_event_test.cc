// FlowRecord -> v1::Flow: every field lands where the schema says.
#include "pipeline/flow_event.h"

#include <gtest/gtest.h>

#include "common/ip.h"
#include "flow/community_id.h"
#include "flow/flow_table.h"
#include "synth.h"

namespace tapir::pipeline {
namespace {

using decode::tcpflag::kAck;
using decode::tcpflag::kSyn;
using flow::testing::ip;
using flow::testing::Synth;

class Capture : public flow::FlowObserver {
 public:
  void on_flow_end(flow::FlowRecord& f) override {
    v1::Flow m;
    fill_flow_event(f, m, 10);
    events.push_back(m);
  }
  std::vector<v1::Flow> events;
};

TEST(FlowEvent, FillsEveryField) {
  Capture cap;
  flow::FlowTable table({}, &cap);
  const TimeNs t0 = 1700000000LL * kNsPerSec + 123456789;
  flow::Direction d;
  bool created;
  Synth syn = Synth::tcp("2001:db8::2", 40000, "2001:db8::1", 443, kSyn, t0).ttl(60).mac(1);
  syn.p.vlan_count = 1;
  syn.p.vlans[0] = 42;
  table.update(syn.p, d, created);
  Synth synack =
      Synth::tcp("2001:db8::1", 443, "2001:db8::2", 40000, kSyn | kAck, t0 + 1500000).ttl(55).mac(2);
  synack.p.vlan_count = 1;
  synack.p.vlans[0] = 42;
  table.update(synack.p, d, created);
  std::vector<uint8_t> data(10);
  Synth ack = Synth::tcp("2001:db8::2", 40000, "2001:db8::1", 443, kAck, t0 + 2500999).data(data);
  ack.p.vlan_count = 1;
  ack.p.vlans[0] = 42;
  table.update(ack.p, d, created);
  table.flush();
  ASSERT_EQ(cap.events.size(), 1u);
  const v1::Flow& m = cap.events[0];
  EXPECT_EQ(m.ts().seconds(), 1700000000);
  EXPECT_EQ(m.ts().nanos(), 123456789);
  EXPECT_EQ(m.ts_end().nanos(), 123456789 + 2500999);
  EXPECT_EQ(m.duration_us(), 2500u);
  EXPECT_EQ(m.src().ip(), ip("2001:db8::2").raw());
  EXPECT_EQ(m.src().port(), 40000u);
  EXPECT_EQ(m.dst().ip(), ip("2001:db8::1").raw());
  EXPECT_EQ(m.dst().port(), 443u);
  EXPECT_EQ(m.src().mac(), std::string("\x02\x00\x00\x00\x00\x01", 6));
  EXPECT_EQ(m.dst().mac(), std::string("\x02\x00\x00\x00\x00\x02", 6));
  EXPECT_EQ(m.ip_proto(), 6u);
  EXPECT_EQ(m.ip_version(), 6u);
  ASSERT_EQ(m.vlan_size(), 1);
  EXPECT_EQ(m.vlan(0), 42u);
  EXPECT_EQ(m.sampling_rate(), 10u);
  EXPECT_EQ(m.src_packets(), 2u);
  EXPECT_EQ(m.dst_packets(), 1u);
  EXPECT_EQ(m.src_ip_bytes(), 2 * 60u + 10u);
  EXPECT_EQ(m.dst_ip_bytes(), 60u);
  EXPECT_EQ(m.src_frame_bytes(), 2 * 74u + 10u);
  EXPECT_EQ(m.src_payload_bytes(), 10u);
  EXPECT_EQ(m.dst_payload_bytes(), 0u);
  EXPECT_EQ(m.src_tcp_flags(), uint32_t{kSyn | kAck});
  EXPECT_EQ(m.dst_tcp_flags(), uint32_t{kSyn | kAck});
  EXPECT_EQ(m.rtt_us(), 2500u);
  EXPECT_EQ(m.end_reason(), v1::END_SHUTDOWN);
  EXPECT_EQ(m.src_min_ttl(), 60u);
  EXPECT_EQ(m.dst_min_ttl(), 55u);
  EXPECT_EQ(m.community_id().substr(0, 2), "1:");
  EXPECT_FALSE(m.has_tunnel());
}

TEST(FlowEvent, OneSidedFlowHasNoTtlForTheSilentSide) {
  Capture cap;
  flow::FlowTable table({}, &cap);
  flow::Direction d;
  bool created;
  table.update(Synth::udp("10.0.0.1", 1, "10.0.0.2", 2, kNsPerSec).p, d, created);
  table.flush();
  ASSERT_EQ(cap.events.size(), 1u);
  EXPECT_EQ(cap.events[0].dst_min_ttl(), 0u);
  EXPECT_EQ(cap.events[0].src_min_ttl(), 64u);
  EXPECT_EQ(cap.events[0].src_tcp_flags(), 0u);
}

}  // namespace
}  // namespace tapir::pipeline

namespace tapir::pipeline {
namespace {

// A Geneve-tunnelled UDP packet: the inner flow's Tunnel carries the kind,
// the outer addresses, the VNI and the Community ID of the carrier's flow,
// which the table reports too (app_proto "geneve", no tunnel of its own).
TEST(FlowEvent, TunnelledFlowNamesItsTransportFlow) {
  Capture cap;
  flow::FlowTable table({}, &cap);
  Synth s = Synth::udp("192.168.1.1", 5000, "192.168.1.2", 53, kNsPerSec, 20);
  decode::Packet& p = s.p;
  p.tunnel.kind = decode::TunnelKind::kGeneve;
  p.tunnel.outer_src = flow::testing::ip("10.9.0.1");
  p.tunnel.outer_dst = flow::testing::ip("10.9.0.2");
  p.tunnel.id = 0x123456;
  p.tunnel.depth = 1;
  p.tunnel.outer_proto = decode::ipproto::kUdp;
  p.tunnel.outer_sport = 40000;
  p.tunnel.outer_dport = 6081;
  p.outer_count = 1;
  decode::OuterLayer& o = p.outer[0];
  o.src_ip = p.tunnel.outer_src;
  o.dst_ip = p.tunnel.outer_dst;
  o.ip_proto = decode::ipproto::kUdp;
  o.src_port = 40000;
  o.dst_port = 6081;
  o.ip_len = 20 + 8 + 16 + 14 + p.ip_len;
  o.payload_wire_len = o.ip_len - 28;
  o.ttl = 30;
  o.kind = decode::TunnelKind::kGeneve;
  flow::Direction d;
  bool created;
  table.update_outer(p);
  table.update(p, d, created);
  table.flush();
  ASSERT_EQ(cap.events.size(), 2u);
  const v1::Flow* outer = nullptr;
  const v1::Flow* inner = nullptr;
  for (const v1::Flow& e : cap.events) (e.has_tunnel() ? inner : outer) = &e;
  ASSERT_NE(outer, nullptr);
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(outer->app_proto(), "geneve");
  EXPECT_EQ(outer->dst().port(), 6081u);
  EXPECT_EQ(outer->src_ip_bytes(), o.ip_len);
  EXPECT_EQ(outer->src_payload_bytes(), o.payload_wire_len);
  EXPECT_EQ(outer->src_min_ttl(), 30u);
  EXPECT_EQ(inner->tunnel().type(), v1::TUNNEL_GENEVE);
  EXPECT_EQ(inner->tunnel().id(), 0x123456u);
  EXPECT_EQ(inner->tunnel().depth(), 1u);
  EXPECT_EQ(ip_bytes_to_string(inner->tunnel().src_ip()), "10.9.0.1");
  EXPECT_EQ(inner->tunnel().community_id(), outer->community_id());
  EXPECT_EQ(inner->tunnel().community_id(),
            flow::community_id_v1(o.src_ip, o.dst_ip, 17, 40000, 6081, 0));
  EXPECT_EQ(inner->dst().port(), 53u);
}

}  // namespace
}  // namespace tapir::pipeline
