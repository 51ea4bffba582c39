// FlowTable rules on synthetic packets: orientation, counters, timeouts,
// TCP end, eviction, keys.
#include "flow/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "flow/community_id.h"
#include "synth.h"

namespace tapir::flow {
namespace {

using decode::tcpflag::kAck;
using decode::tcpflag::kFin;
using decode::tcpflag::kPsh;
using decode::tcpflag::kRst;
using decode::tcpflag::kSyn;
using testing::ip;
using testing::Synth;

constexpr TimeNs kT0 = 1700000000 * kNsPerSec;
constexpr TimeNs kMs = kNsPerMs;
constexpr TimeNs kSec = kNsPerSec;

struct Ended {
  const FlowRecord* ptr;
  EndReason reason;
  IpAddr src, dst;
  uint16_t sport, dport;
  std::array<DirStats, 2> dir;
  TimeNs first, last, rtt;
  std::string cid;
};

class Recorder : public FlowObserver {
 public:
  void on_flow_end(FlowRecord& f) override {
    ended.push_back({&f, f.end_reason, f.src_ip, f.dst_ip, f.src_port, f.dst_port, f.dir,
                     f.first_ts, f.last_ts, f.rtt_ns, f.community_id});
  }
  std::vector<Ended> ended;
};

struct Fixture {
  explicit Fixture(FlowConfig c = {}) : table(c, &rec) {}
  FlowRecord* feed(const Synth& s, Direction* d = nullptr) {
    Direction dir;
    bool created;
    FlowRecord* f = table.update(s.p, dir, created);
    if (d) *d = dir;
    return f;
  }
  Recorder rec;
  FlowTable table;
};

TEST(FlowTable, CountsPerDirectionAndOrientsByFirstSender) {
  Fixture fx;
  std::vector<uint8_t> req(100, 'a'), resp(300, 'b');
  Direction d;
  FlowRecord* f = fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kSyn, kT0).ttl(60).mac(1), &d);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(d, Direction::kFromOriginator);
  EXPECT_EQ(fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kSyn | kAck, kT0 + 10 * kMs)
                        .ttl(50).mac(2), &d), f);
  EXPECT_EQ(d, Direction::kFromResponder);
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kAck, kT0 + 30 * kMs).ttl(58).mac(1));
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kAck | kPsh, kT0 + 31 * kMs).data(req));
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kAck | kPsh, kT0 + 40 * kMs).data(resp));

  EXPECT_EQ(f->src_ip, ip("10.0.0.2"));
  EXPECT_EQ(f->src_port, 40000);
  EXPECT_EQ(f->dst_ip, ip("10.0.0.1"));
  EXPECT_EQ(f->dst_port, 80);
  EXPECT_EQ(f->dir[0].packets, 3u);
  EXPECT_EQ(f->dir[1].packets, 2u);
  EXPECT_EQ(f->dir[0].payload_bytes, 100u);
  EXPECT_EQ(f->dir[1].payload_bytes, 300u);
  EXPECT_EQ(f->dir[0].ip_bytes, 3 * 40u + 100u);
  EXPECT_EQ(f->dir[1].frame_bytes, 2 * 54u + 300u);
  EXPECT_EQ(f->dir[0].tcp_flags, kSyn | kAck | kPsh);
  EXPECT_EQ(f->dir[1].tcp_flags, kSyn | kAck | kPsh);
  EXPECT_EQ(f->dir[0].min_ttl, 58);
  EXPECT_EQ(f->dir[1].min_ttl, 50);
  EXPECT_TRUE(f->dir[0].has_mac);
  EXPECT_EQ(f->dir[0].mac[5], 1);
  EXPECT_EQ(f->dir[1].mac[5], 2);
  EXPECT_EQ(f->rtt_ns, 30 * kMs);  // SYN -> the ACK completing the handshake
  EXPECT_EQ(f->first_ts, kT0);
  EXPECT_EQ(f->last_ts, kT0 + 40 * kMs);
  EXPECT_EQ(f->community_id, community_id_v1(ip("10.0.0.2"), ip("10.0.0.1"), 6, 40000, 80));
  EXPECT_EQ(fx.table.stats().created, 1u);
  EXPECT_EQ(fx.table.stats().active, 1u);
}

TEST(FlowTable, SynAckFirstMakesItsReceiverTheOriginator) {
  Fixture fx;
  Direction d;
  FlowRecord* f = fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kSyn | kAck, kT0), &d);
  EXPECT_EQ(d, Direction::kFromResponder);
  EXPECT_EQ(f->src_ip, ip("10.0.0.2"));
  EXPECT_EQ(f->src_port, 40000);
  EXPECT_EQ(f->dir[1].packets, 1u);
  EXPECT_EQ(f->dir[0].packets, 0u);
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kAck, kT0 + kMs), &d);
  EXPECT_EQ(d, Direction::kFromOriginator);
  EXPECT_EQ(f->rtt_ns, 0);  // the SYN was not seen
}

TEST(FlowTable, MidstreamFirstPacketSenderIsOriginator) {
  Fixture fx;
  FlowRecord* f = fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kAck, kT0));
  EXPECT_EQ(f->src_ip, ip("10.0.0.1"));
  EXPECT_EQ(f->src_port, 80);
}

TEST(FlowTable, IdleTimeoutsPerProtocol) {
  FlowConfig c;
  c.udp_idle_timeout = 60 * kSec;
  c.tcp_idle_timeout = 300 * kSec;
  c.other_idle_timeout = 30 * kSec;
  Fixture fx(c);
  fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0, 10));
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kSyn, kT0));
  fx.feed(Synth::icmp("10.0.0.2", "10.0.0.1", 8, 0, 7, kT0));
  fx.table.expire(kT0 + 29 * kSec);
  EXPECT_TRUE(fx.rec.ended.empty());
  fx.table.expire(kT0 + 30 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kIdle);
  fx.table.expire(kT0 + 59 * kSec);
  EXPECT_EQ(fx.rec.ended.size(), 1u);
  fx.table.expire(kT0 + 60 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 2u);
  EXPECT_EQ(fx.rec.ended[1].dport, 53);
  fx.table.expire(kT0 + 299 * kSec);
  EXPECT_EQ(fx.rec.ended.size(), 2u);
  fx.table.expire(kT0 + 300 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 3u);
  EXPECT_EQ(fx.rec.ended[2].dport, 80);
  EXPECT_EQ(fx.table.stats().active, 0u);
  EXPECT_EQ(fx.table.stats().ended, 3u);
}

TEST(FlowTable, PacketsRefreshIdleTime) {
  FlowConfig c;
  c.udp_idle_timeout = 60 * kSec;
  Fixture fx(c);
  for (int i = 0; i < 10; ++i) {
    fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0 + i * 50 * kSec));
    fx.table.expire(kT0 + i * 50 * kSec);
  }
  EXPECT_TRUE(fx.rec.ended.empty());
}

TEST(FlowTable, IdleFlowHitByLatePacketEndsWithoutExpireCall) {
  FlowConfig c;
  c.udp_idle_timeout = 60 * kSec;
  Fixture fx(c);
  FlowRecord* f1 = fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0));
  FlowRecord* f2 = fx.feed(Synth::udp("10.0.0.1", 53, "10.0.0.2", 5000, kT0 + 61 * kSec));
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kIdle);
  EXPECT_EQ(fx.rec.ended[0].src, ip("10.0.0.2"));
  EXPECT_EQ(f2->src_ip, ip("10.0.0.1"));  // a new flow, oriented by its own first packet
  EXPECT_EQ(f1, f2);                      // the record was recycled
}

TEST(FlowTable, ActiveTimeoutReportsAndContinuesInPlace) {
  FlowConfig c;
  c.active_timeout = 100 * kSec;
  c.udp_idle_timeout = 60 * kSec;
  Fixture fx(c);
  FlowRecord* f = fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0, 10));
  const std::string cid = f->community_id;
  const uint64_t id = f->id;
  for (int i = 1; i <= 12; ++i) {
    // Alternate directions: the continuing record keeps its originator.
    if (i % 2) {
      EXPECT_EQ(fx.feed(Synth::udp("10.0.0.1", 53, "10.0.0.2", 5000, kT0 + i * 10 * kSec, 20)), f);
    } else {
      EXPECT_EQ(fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0 + i * 10 * kSec, 10)), f);
    }
  }
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  const Ended& e = fx.rec.ended[0];
  EXPECT_EQ(e.reason, EndReason::kActive);
  EXPECT_EQ(e.ptr, f);
  EXPECT_EQ(e.first, kT0);
  EXPECT_EQ(e.last, kT0 + 90 * kSec);
  EXPECT_EQ(e.dir[0].packets + e.dir[1].packets, 10u);
  // The continuation: packets at 100, 110, 120 s.
  EXPECT_EQ(f->first_ts, kT0 + 100 * kSec);
  EXPECT_EQ(f->dir[0].packets, 2u);  // 100 s and 120 s were sent by the originator
  EXPECT_EQ(f->dir[1].packets, 1u);
  EXPECT_EQ(f->src_ip, ip("10.0.0.2"));
  EXPECT_EQ(f->community_id, cid);
  EXPECT_NE(f->id, id);
  EXPECT_EQ(fx.table.stats().active_timeouts, 1u);
  EXPECT_EQ(fx.table.stats().ended, 0u);
}

void handshake(Fixture& fx, TimeNs t) {
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kSyn, t).seq(1000));
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kSyn | kAck, t + kMs).seq(5000, 1001));
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kAck, t + 2 * kMs).seq(1001, 5001));
}

TEST(FlowTable, FinFromBothSidesEndsAfterLingerWithTrailingAck) {
  FlowConfig c;
  c.tcp_close_linger = 5 * kSec;
  Fixture fx(c);
  handshake(fx, kT0);
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kFin | kAck, kT0 + kSec).seq(1001, 5001));
  fx.table.expire(kT0 + 100 * kSec);  // one FIN only: still open (TCP idle is 300 s)
  EXPECT_TRUE(fx.rec.ended.empty());
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kFin | kAck, kT0 + 101 * kSec).seq(5001, 1002));
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kAck, kT0 + 102 * kSec).seq(1002, 5002));
  fx.table.expire(kT0 + 106 * kSec);
  EXPECT_TRUE(fx.rec.ended.empty());  // linger counts from the last packet
  fx.table.expire(kT0 + 107 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kFin);
  EXPECT_EQ(fx.rec.ended[0].dir[0].packets, 4u);  // the trailing ACK is in
  EXPECT_EQ(fx.rec.ended[0].dir[0].fin_seq, 1001u);
  EXPECT_EQ(fx.rec.ended[0].rtt, 2 * kMs);
}

TEST(FlowTable, RstEndsAfterLinger) {
  FlowConfig c;
  c.tcp_close_linger = 5 * kSec;
  Fixture fx(c);
  handshake(fx, kT0);
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kRst, kT0 + kSec).seq(5001));
  fx.table.expire(kT0 + 6 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kRst);
}

// The shape of suricata-verify bug-2646-01 with the default configuration:
// the server's FIN is retransmitted with a doubling back-off (gaps of 3.6,
// 7.2, 14.3, 28.7 s) after both sides have sent FIN. Every retransmission
// counts in the flow it closes (Suricata: 19 packets to the client, tshark
// the same), none starts a new, reversed flow.
TEST(FlowTable, RetransmittedFinsAfterCloseStayInTheFlowByDefault) {
  Fixture fx;
  EXPECT_EQ(fx.table.config().tcp_close_linger, 60 * kSec);
  handshake(fx, kT0);
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kFin | kAck, kT0 + kSec).seq(1001, 5001));
  TimeNs t = kT0 + kSec + 200 * kMs;
  TimeNs gap = 200 * kMs;
  for (int i = 0; i < 9; ++i) {
    fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kFin | kAck | kPsh, t).seq(5001, 1002));
    fx.table.expire(t + gap);  // the engine's periodic expiry runs between them
    gap *= 2;
    t += gap;
  }
  EXPECT_TRUE(fx.rec.ended.empty());
  EXPECT_EQ(fx.table.stats().created, 1u);
  fx.table.expire(t + 60 * kSec);
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kFin);
  EXPECT_EQ(fx.rec.ended[0].dir[1].packets, 1u + 9u);
  EXPECT_EQ(fx.rec.ended[0].src, ip("10.0.0.2"));  // not reversed
}

// Lingering is bounded in space too: a closed flow makes room before any
// live one is evicted, and keeps the reason it really ended for.
TEST(FlowTable, ClosedFlowsGiveWayFirstWhenFull) {
  FlowConfig c;
  c.max_flows = 3;
  Fixture fx(c);
  handshake(fx, kT0);  // the oldest flow, then closed by RST
  fx.feed(Synth::udp("10.0.0.3", 1000, "10.0.0.1", 53, kT0 + 10 * kMs));
  fx.feed(Synth::udp("10.0.0.3", 1001, "10.0.0.1", 53, kT0 + 20 * kMs));
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kRst, kT0 + 30 * kMs).seq(5001));
  fx.feed(Synth::udp("10.0.0.3", 1002, "10.0.0.1", 53, kT0 + 40 * kMs));
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kRst);
  EXPECT_EQ(fx.rec.ended[0].sport, 40000);
  EXPECT_EQ(fx.table.stats().linger_cut, 1u);
  EXPECT_EQ(fx.table.stats().evicted, 0u);
  // With no closed flow left, the least recently seen live flow goes.
  fx.feed(Synth::udp("10.0.0.3", 1003, "10.0.0.1", 53, kT0 + 50 * kMs));
  ASSERT_EQ(fx.rec.ended.size(), 2u);
  EXPECT_EQ(fx.rec.ended[1].reason, EndReason::kEvicted);
  EXPECT_EQ(fx.rec.ended[1].sport, 1000);
}

TEST(FlowTable, NewSynOnClosedTupleStartsNewFlow) {
  Fixture fx;
  handshake(fx, kT0);
  fx.feed(Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, kRst | kAck, kT0 + kSec).seq(5001, 1001));
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kSyn, kT0 + 2 * kSec).seq(9000));
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kRst);
  EXPECT_EQ(fx.table.stats().tcp_reused, 1u);
  EXPECT_EQ(fx.table.stats().active, 1u);
  EXPECT_EQ(fx.table.stats().created, 2u);
}

TEST(FlowTable, LeastRecentlyUsedIsEvictedWhenFull) {
  FlowConfig c;
  c.max_flows = 4;
  Fixture fx(c);
  std::vector<FlowRecord*> recs;
  for (int i = 0; i < 4; ++i) {
    recs.push_back(fx.feed(Synth::udp("10.0.0.2", static_cast<uint16_t>(1000 + i), "10.0.0.1", 53,
                                      kT0 + i * kMs)));
  }
  // Touch flow 0 so flow 1 becomes the least recently used.
  fx.feed(Synth::udp("10.0.0.1", 53, "10.0.0.2", 1000, kT0 + 10 * kMs));
  FlowRecord* f5 = fx.feed(Synth::udp("10.0.0.2", 2000, "10.0.0.1", 53, kT0 + 11 * kMs));
  ASSERT_EQ(fx.rec.ended.size(), 1u);
  EXPECT_EQ(fx.rec.ended[0].reason, EndReason::kEvicted);
  EXPECT_EQ(fx.rec.ended[0].sport, 1001);
  EXPECT_EQ(f5, recs[1]);  // the evicted record is reused
  EXPECT_EQ(fx.table.stats().evicted, 1u);
  EXPECT_EQ(fx.table.stats().active, 4u);
  EXPECT_EQ(fx.table.stats().pool_records, 4u);
}

TEST(FlowTable, RecordAddressesStayStableWhileThePoolGrows) {
  Fixture fx;
  FlowRecord* first = fx.feed(Synth::udp("10.0.0.2", 1, "10.0.0.1", 53, kT0));
  for (int i = 0; i < 20000; ++i) {
    fx.feed(Synth::udp("10.1.0.2", static_cast<uint16_t>(i), "10.0.0.1", 53, kT0 + i));
  }
  EXPECT_EQ(fx.feed(Synth::udp("10.0.0.1", 53, "10.0.0.2", 1, kT0 + kSec)), first);
  EXPECT_EQ(first->dir[1].packets, 1u);
  EXPECT_EQ(fx.table.stats().active, 20001u);
  // And every flow is still found (index growth kept all entries).
  for (int i = 0; i < 20000; ++i) {
    fx.feed(Synth::udp("10.1.0.2", static_cast<uint16_t>(i), "10.0.0.1", 53, kT0 + kSec + i));
  }
  EXPECT_EQ(fx.table.stats().created, 20001u);
}

TEST(FlowTable, DeletionKeepsProbeChainsIntact) {
  // Many flows ending in arbitrary order must leave every other one findable.
  FlowConfig c;
  c.udp_idle_timeout = 10 * kSec;
  Fixture fx(c);
  for (int i = 1; i < 5000; i += 2) {
    fx.feed(Synth::udp("10.2.0.1", static_cast<uint16_t>(i), "10.0.0.1", 53, kT0));
  }
  for (int i = 0; i < 5000; i += 2) {
    fx.feed(Synth::udp("10.2.0.1", static_cast<uint16_t>(i), "10.0.0.1", 53, kT0 + 5 * kSec));
  }
  fx.table.expire(kT0 + 10 * kSec);  // the odd ones end
  EXPECT_EQ(fx.rec.ended.size(), 2500u);
  const uint64_t created = fx.table.stats().created;
  for (int i = 0; i < 5000; i += 2) {
    fx.feed(Synth::udp("10.2.0.1", static_cast<uint16_t>(i), "10.0.0.1", 53, kT0 + 11 * kSec));
  }
  EXPECT_EQ(fx.table.stats().created, created);  // all even ones found again
}

TEST(FlowTable, IcmpEchoRequestAndReplyShareAFlow) {
  Fixture fx;
  Direction d;
  FlowRecord* f = fx.feed(Synth::icmp("192.168.0.89", "192.168.0.1", 8, 0, 77, kT0));
  EXPECT_EQ(fx.feed(Synth::icmp("192.168.0.1", "192.168.0.89", 0, 0, 77, kT0 + kMs), &d), f);
  EXPECT_EQ(d, Direction::kFromResponder);
  EXPECT_NE(fx.feed(Synth::icmp("192.168.0.89", "192.168.0.1", 8, 0, 78, kT0 + 2 * kMs)), f);
  EXPECT_EQ(f->community_id, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");  // spec baseline
  EXPECT_EQ(f->src_port, 0);  // ICMP has no ports in the event schema
  FlowRecord* unreach = fx.feed(Synth::icmp("10.0.0.1", "10.0.0.2", 11, 0, 0, kT0));
  EXPECT_EQ(unreach->community_id, "1:YHxtAirCG//0OzkcVAukqKQN9xM=");
}

TEST(FlowTable, TunnelIdAndVlanSeparateAndAreRecorded) {
  Fixture fx;
  Synth a = Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0);
  a.p.tunnel.kind = decode::TunnelKind::kVxlan;
  a.p.tunnel.id = 100;
  a.p.tunnel.outer_src = ip("192.0.2.1");
  Synth b = a;
  b.p.tunnel.id = 200;
  Synth c = Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0);
  c.p.vlan_count = 2;
  c.p.vlans[0] = 10;
  c.p.vlans[1] = 20;
  FlowRecord* fa = fx.feed(a);
  FlowRecord* fb = fx.feed(b);
  FlowRecord* fc = fx.feed(c);
  EXPECT_NE(fa, fb);
  EXPECT_NE(fa, fc);
  EXPECT_EQ(fa->tunnel.id, 100u);
  EXPECT_EQ(fa->tunnel.outer_src, ip("192.0.2.1"));
  EXPECT_EQ(fb->tunnel.id, 200u);
  EXPECT_EQ(fc->vlan_count, 2);
  EXPECT_EQ(fc->vlans[1], 20);
}

TEST(FlowTable, PacketsWithoutAFlowAreRefused) {
  Fixture fx;
  Synth frag = Synth::udp("10.0.0.2", 0, "10.0.0.1", 0, kT0);
  frag.p.is_fragment = true;
  Synth arp;
  arp.p.l3 = decode::L3::kArp;
  Synth bad = Synth::tcp("10.0.0.2", 1, "10.0.0.1", 2, 0, kT0);
  bad.p.error = decode::DecodeError::kTruncatedTcp;
  EXPECT_EQ(fx.feed(frag), nullptr);
  EXPECT_EQ(fx.feed(arp), nullptr);
  EXPECT_EQ(fx.feed(bad), nullptr);
  EXPECT_EQ(fx.table.stats().created, 0u);
}

TEST(FlowTable, FlushEndsEverythingKeepingCloseReasons) {
  Fixture fx;
  handshake(fx, kT0);
  fx.feed(Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, kRst, kT0 + kSec).seq(1001));
  fx.feed(Synth::udp("10.0.0.2", 5000, "10.0.0.1", 53, kT0));
  fx.table.flush();
  ASSERT_EQ(fx.rec.ended.size(), 2u);
  std::multiset<EndReason> reasons{fx.rec.ended[0].reason, fx.rec.ended[1].reason};
  EXPECT_EQ(reasons, (std::multiset<EndReason>{EndReason::kRst, EndReason::kShutdown}));
  EXPECT_EQ(fx.table.stats().active, 0u);
}

TEST(FlowKey, CanonicalForBothDirections) {
  bool s1, s2;
  const FlowKey k1 = make_flow_key(Synth::tcp("10.0.0.2", 1, "10.0.0.1", 2, 0, 0).p, s1);
  const FlowKey k2 = make_flow_key(Synth::tcp("10.0.0.1", 2, "10.0.0.2", 1, 0, 0).p, s2);
  EXPECT_EQ(k1, k2);
  EXPECT_NE(s1, s2);
  EXPECT_EQ(hash_flow_key(k1), hash_flow_key(k2));
  // Same address both ways: the ports decide.
  const FlowKey k3 = make_flow_key(Synth::tcp("127.0.0.1", 9, "127.0.0.1", 7, 0, 0).p, s1);
  const FlowKey k4 = make_flow_key(Synth::tcp("127.0.0.1", 7, "127.0.0.1", 9, 0, 0).p, s2);
  EXPECT_EQ(k3, k4);
  EXPECT_NE(s1, s2);
}

TEST(FlowKey, HashIsSeededAndSpreadsSequentialKeys) {
  // 64k keys differing only in a port, into 1024 buckets by the low bits:
  // a well-mixed hash puts ~64 in each; a weak one piles them up.
  constexpr int kKeys = 1 << 16;
  constexpr int kBuckets = 1024;
  std::vector<int> count(kBuckets);
  bool s;
  FlowKey k = make_flow_key(Synth::udp("10.0.0.1", 0, "10.0.0.2", 53, 0).p, s);
  for (int i = 0; i < kKeys; ++i) {
    k.port_a = static_cast<uint16_t>(i);
    ++count[hash_flow_key(k, 12345) & (kBuckets - 1)];
  }
  const int worst = *std::max_element(count.begin(), count.end());
  EXPECT_LT(worst, 2 * kKeys / kBuckets);
  EXPECT_NE(hash_flow_key(k, 1), hash_flow_key(k, 2));
}

}  // namespace
}  // namespace tapir::flow
