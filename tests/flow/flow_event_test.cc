// FlowRecord -> v1::Flow: every field lands where the schema says.
#include "pipeline/flow_event.h"

#include <gtest/gtest.h>

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
