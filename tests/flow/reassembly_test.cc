// TCP reassembly: ordering, overlaps (first wins), wrap-around, gaps, FIN/RST,
// bounds, and a seeded stress test over reordered/duplicated/dropped segments.
#include "flow/reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "synth.h"

namespace tapir::flow {
namespace {

using decode::tcpflag::kAck;
using decode::tcpflag::kFin;
using decode::tcpflag::kRst;
using decode::tcpflag::kSyn;
using testing::Synth;

constexpr Direction kOrig = Direction::kFromOriginator;
constexpr Direction kResp = Direction::kFromResponder;

// Rebuilds each direction as bytes, with gaps as runs of -1.
class Collector : public StreamConsumer {
 public:
  void on_stream_data(Direction dir, const uint8_t* data, size_t len, TimeNs) override {
    auto& v = out[dir_index(dir)];
    v.insert(v.end(), data, data + len);
    last_data_ptr = data;
  }
  void on_stream_gap(Direction dir, uint64_t len) override {
    out[dir_index(dir)].insert(out[dir_index(dir)].end(), len, -1);
    ++gaps[dir_index(dir)];
  }
  void on_stream_end(Direction dir) override { ++ends[dir_index(dir)]; }
  bool wants_more(Direction dir) const override {
    return out[dir_index(dir)].size() < limit;
  }
  std::string text(Direction dir) const {
    std::string s;
    for (int c : out[dir_index(dir)]) s.push_back(c < 0 ? '_' : static_cast<char>(c));
    return s;
  }
  std::array<std::vector<int>, 2> out;
  std::array<int, 2> gaps{};
  std::array<int, 2> ends{};
  size_t limit = SIZE_MAX;
  const uint8_t* last_data_ptr = nullptr;
};

// One TCP connection between two fixed endpoints, fed straight to a Reassembler.
struct Conn {
  explicit Conn(ReassemblyConfig c = {}) : r(c) {}
  void send(Direction dir, uint8_t flags, uint32_t seq, const std::string& data,
            uint32_t ack = 0) {
    bufs.emplace_back(data.begin(), data.end());
    Synth s = dir == kOrig ? Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, flags, ts)
                           : Synth::tcp("10.0.0.1", 80, "10.0.0.2", 40000, flags, ts);
    s.seq(seq, ack);
    if (!data.empty()) s.data(bufs.back().data(), bufs.back().size());
    ts += kNsPerMs;
    r.on_segment(flow, dir, s.p, sink);
  }
  void end() { r.on_flow_end(flow, sink); }
  Reassembler r;
  FlowRecord flow;
  Collector sink;
  TimeNs ts = kNsPerSec;
  std::vector<std::vector<uint8_t>> bufs;
};

TEST(Reassembly, InOrderIsDeliveredAtOnceWithoutCopying) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck, 101, "hello ");
  EXPECT_EQ(c.sink.last_data_ptr, c.bufs.back().data());
  c.send(kOrig, kAck, 107, "world");
  EXPECT_EQ(c.sink.text(kOrig), "hello world");
  EXPECT_EQ(c.r.stats().buffered_bytes, 0u);
  EXPECT_EQ(c.r.stats().bytes_delivered, 11u);
}

TEST(Reassembly, OutOfOrderIsReordered) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck, 111, "ccccc");
  c.send(kOrig, kAck, 106, "bbbbb");
  EXPECT_EQ(c.sink.text(kOrig), "");
  EXPECT_EQ(c.r.stats().buffered_bytes, 10u);
  c.send(kOrig, kAck, 101, "aaaaa");
  EXPECT_EQ(c.sink.text(kOrig), "aaaaabbbbbccccc");
  EXPECT_EQ(c.r.stats().out_of_order, 2u);
  EXPECT_EQ(c.r.stats().buffered_bytes, 0u);
}

TEST(Reassembly, RetransmissionsAreDeliveredOnce) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck, 101, "abcdef");
  c.send(kOrig, kAck, 101, "abcdef");
  c.send(kOrig, kAck, 104, "defghi");
  EXPECT_EQ(c.sink.text(kOrig), "abcdefghi");
  EXPECT_EQ(c.r.stats().retransmitted_bytes, 6u + 3u);
  EXPECT_EQ(c.r.stats().overlap_conflicts, 0u);
}

TEST(Reassembly, OverlapsKeepTheBytesSeenFirst) {
  Conn c;
  c.send(kOrig, kSyn, 0, "");
  c.send(kOrig, kAck, 11, "XXXX");        // buffered first: positions 10..13
  c.send(kOrig, kAck, 6, "abcdefghijkl");  // positions 5..16, disagrees at 10..13
  c.send(kOrig, kAck, 1, "01234");
  EXPECT_EQ(c.sink.text(kOrig), "01234abcdeXXXXjkl");
  EXPECT_EQ(c.r.stats().overlap_conflicts, 4u);
}

TEST(Reassembly, SequenceWrapAround) {
  Conn c;
  const uint32_t isn = 0xfffffff0u;
  c.send(kOrig, kSyn, isn, "");
  std::string a(20, 'a'), b(20, 'b');
  c.send(kOrig, kAck, isn + 21, b);  // wraps past 2^32
  c.send(kOrig, kAck, isn + 1, a);
  EXPECT_EQ(c.sink.text(kOrig), a + b);
}

TEST(Reassembly, MidstreamPickUp) {
  Conn c;
  c.send(kResp, kAck, 5000, "HTTP/1.1 200 OK\r\n");
  c.send(kResp, kAck, 5017, "\r\n");
  EXPECT_EQ(c.sink.text(kResp), "HTTP/1.1 200 OK\r\n\r\n");
}

TEST(Reassembly, AckPastAHoleReportsTheGapThere) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kResp, kSyn | kAck, 900, "", 101);
  c.send(kOrig, kAck, 101, "aaaa");
  c.send(kOrig, kAck, 109, "cccc");  // 105..108 lost
  EXPECT_EQ(c.sink.text(kOrig), "aaaa");
  c.send(kResp, kAck, 901, "", 113);  // receiver got everything: the capture lost it
  EXPECT_EQ(c.sink.text(kOrig), "aaaa____cccc");
  EXPECT_EQ(c.sink.gaps[0], 1);
  EXPECT_EQ(c.r.stats().gap_bytes, 4u);
  c.send(kResp, kAck, 901, "", 117);  // and 113..116 too, with nothing after it
  EXPECT_EQ(c.sink.text(kOrig), "aaaa____cccc____");
}

TEST(Reassembly, FlowEndReportsRemainingHoles) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck, 101, "aa");
  c.send(kOrig, kAck, 105, "cc");
  c.send(kOrig, kAck | kFin, 109, "ee");
  c.end();
  EXPECT_EQ(c.sink.text(kOrig), "aa__cc__ee");
  EXPECT_EQ(c.sink.gaps[0], 2);
  EXPECT_EQ(c.sink.ends[0], 1);
  EXPECT_EQ(c.sink.ends[1], 1);
  EXPECT_EQ(c.r.stats().buffered_bytes, 0u);
}

TEST(Reassembly, FinEndsTheDirectionOnceAndLaterBytesAreIgnored) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck | kFin, 104, "def");  // FIN at position after 'f'
  EXPECT_EQ(c.sink.ends[0], 0);
  c.send(kOrig, kAck, 101, "abc");
  EXPECT_EQ(c.sink.text(kOrig), "abcdef");
  EXPECT_EQ(c.sink.ends[0], 1);
  c.send(kOrig, kAck, 107, "zzz");  // beyond the FIN
  c.end();
  EXPECT_EQ(c.sink.text(kOrig), "abcdef");
  EXPECT_EQ(c.sink.ends[0], 1);
}

TEST(Reassembly, RstEndsTheSendersDirection) {
  Conn c;
  c.send(kOrig, kSyn, 100, "");
  c.send(kOrig, kAck, 101, "ab");
  c.send(kOrig, kAck, 105, "ef");
  c.send(kOrig, kRst, 107, "");
  EXPECT_EQ(c.sink.text(kOrig), "ab__ef");
  EXPECT_EQ(c.sink.ends[0], 1);
  c.send(kOrig, kAck, 107, "late");
  EXPECT_EQ(c.sink.text(kOrig), "ab__ef");
}

TEST(Reassembly, PerFlowBoundTurnsTheHoleIntoAGap) {
  ReassemblyConfig cfg;
  cfg.max_flow_bytes = 100;
  Conn c(cfg);
  c.send(kOrig, kSyn, 0, "");
  // Hole at 1..10, then 150 bytes out of order: over the bound.
  c.send(kOrig, kAck, 11, std::string(60, 'x'));
  EXPECT_EQ(c.r.stats().buffered_bytes, 60u);
  c.send(kOrig, kAck, 71, std::string(90, 'y'));
  EXPECT_EQ(c.r.stats().flow_limit_hits, 1u);
  EXPECT_EQ(c.sink.text(kOrig), std::string(10, '_') + std::string(60, 'x') + std::string(90, 'y'));
  EXPECT_EQ(c.r.stats().buffered_bytes, 0u);
  // The late bytes of the hole are old now.
  c.send(kOrig, kAck, 1, std::string(10, 'a'));
  EXPECT_EQ(c.sink.out[0].size(), 160u);
}

TEST(Reassembly, GlobalBoundIsSharedByFlows) {
  ReassemblyConfig cfg;
  cfg.max_total_bytes = 100;
  Reassembler r(cfg);
  FlowRecord f1, f2;
  Collector s1, s2;
  std::vector<uint8_t> d(80, 'z');
  auto seg = [&](FlowRecord& f, Collector& s, uint8_t flags, uint32_t seq, bool data) {
    Synth p = Synth::tcp("10.0.0.2", 1, "10.0.0.1", 2, flags, kNsPerSec).seq(seq);
    if (data) p.data(d);
    r.on_segment(f, kOrig, p.p, s);
  };
  seg(f1, s1, kSyn, 0, false);
  seg(f2, s2, kSyn, 0, false);
  seg(f1, s1, kAck, 11, true);  // 80 buffered
  seg(f2, s2, kAck, 11, true);  // would be 160 globally
  EXPECT_EQ(r.stats().global_limit_hits, 1u);
  EXPECT_LE(r.stats().buffered_bytes, 100u);
  EXPECT_EQ(s2.gaps[0], 1);  // flow 2 had nothing to give up but its own hole
  EXPECT_EQ(s2.out[0].size(), 90u);
}

TEST(Reassembly, ConsumerThatHasEnoughStopsBuffering) {
  Conn c;
  c.sink.limit = 4;
  c.send(kOrig, kSyn, 0, "");
  c.send(kOrig, kAck, 1, "abcdef");
  c.send(kOrig, kAck, 20, "later");
  EXPECT_EQ(c.sink.text(kOrig), "abcdef");
  EXPECT_EQ(c.r.stats().buffered_bytes, 0u);
}

TEST(Reassembly, ActiveTimeoutReportDoesNotEndStreams) {
  Conn c;
  c.send(kOrig, kSyn, 0, "");
  c.send(kOrig, kAck, 1, "ab");
  c.flow.end_reason = EndReason::kActive;
  c.end();
  EXPECT_EQ(c.sink.ends[0], 0);
  c.flow.end_reason = EndReason::kUnknown;
  c.send(kOrig, kAck, 3, "cd");
  EXPECT_EQ(c.sink.text(kOrig), "abcd");
}

TEST(Reassembly, FlowOutlivingTheReassemblerIsSafe) {
  FlowRecord f;
  Collector s;
  {
    Reassembler r;
    Synth syn = Synth::tcp("10.0.0.2", 1, "10.0.0.1", 2, kSyn, 0).seq(0);
    r.on_segment(f, kOrig, syn.p, s);
    std::vector<uint8_t> d(10, 'q');
    Synth late = Synth::tcp("10.0.0.2", 1, "10.0.0.1", 2, kAck, 0).seq(50);
    late.data(d);
    r.on_segment(f, kOrig, late.p, s);
  }
  f.streams.reset();  // must not touch the destroyed reassembler
  SUCCEED();
}

// --- stress: real bytes, seeded disorder ---

std::vector<uint8_t> real_bytes(size_t want, size_t offset) {
  // Bytes of a corpus capture: real, varied content (headers, text, binary).
  std::ifstream in(std::string(TAPIR_TESTDATA) + "/zeek/tls__tls-fragmented-handshake/tls-fragmented-handshake.pcap",
                   std::ios::binary);
  std::vector<uint8_t> all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (all.empty()) {
    std::mt19937 g(7);
    all.resize(want + offset);
    for (auto& b : all) b = static_cast<uint8_t>(g());
  }
  std::vector<uint8_t> out(want);
  for (size_t i = 0; i < want; ++i) out[i] = all[(offset + i) % all.size()];
  return out;
}

struct Seg {
  uint32_t start;  // offset into the stream
  uint32_t len;
};

void stress_once(uint32_t seed) {
  std::mt19937 rng(seed);
  auto uni = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  const size_t size = uni(1000, 150000);
  const std::vector<uint8_t> stream = real_bytes(size, uni(0, 100000));
  // Start near the wrap point half of the time.
  const uint32_t isn = seed % 2 ? 0xffffffffu - uni(0, 100000) : uni(0, 0x7fffffff);

  std::vector<Seg> segs;
  for (uint32_t pos = 0; pos < size;) {
    const uint32_t len = std::min<uint32_t>(uni(1, 1460), static_cast<uint32_t>(size) - pos);
    segs.push_back({pos, len});
    pos += len;
  }
  std::vector<Seg> sent;
  std::vector<bool> covered(size, false);
  for (const Seg& s : segs) {
    const uint32_t r = uni(0, 99);
    if (r < 5) continue;  // dropped
    Seg t = s;
    if (r < 15) {  // re-segmented to overlap its neighbours (same bytes)
      const uint32_t grow_front = std::min(t.start, uni(0, 300));
      t.start -= grow_front;
      t.len = std::min<uint32_t>(t.len + grow_front + uni(0, 300),
                                 static_cast<uint32_t>(size) - t.start);
    }
    sent.push_back(t);
    if (r >= 90) sent.push_back(t);  // duplicated
    for (uint32_t i = t.start; i < t.start + t.len; ++i) covered[i] = true;
  }
  // Local reordering: each segment moves up to 30 places.
  for (size_t i = 0; i < sent.size(); ++i) {
    const size_t j = std::min(sent.size() - 1, i + uni(0, 30));
    std::swap(sent[i], sent[j]);
  }

  Reassembler r;
  FlowRecord flow;
  Collector sink;
  TimeNs ts = 0;
  auto feed = [&](uint8_t flags, uint32_t seq, const uint8_t* data, uint32_t len) {
    Synth p = Synth::tcp("10.0.0.2", 40000, "10.0.0.1", 80, flags, ts++).seq(seq);
    if (len) p.data(data, len);
    r.on_segment(flow, kOrig, p.p, sink);
  };
  feed(kSyn, isn, nullptr, 0);
  for (const Seg& s : sent) feed(kAck, isn + 1 + s.start, stream.data() + s.start, s.len);
  feed(kAck | kFin, isn + 1 + static_cast<uint32_t>(size), nullptr, 0);
  r.on_flow_end(flow, sink);

  // Expected: the original where any copy arrived, a gap exactly where none did.
  std::vector<int> expect(size);
  int holes = 0;
  for (size_t i = 0; i < size; ++i) {
    expect[i] = covered[i] ? stream[i] : -1;
    if (!covered[i] && (i == 0 || covered[i - 1])) ++holes;
  }
  ASSERT_EQ(sink.out[0].size(), size) << "seed " << seed;
  EXPECT_TRUE(sink.out[0] == expect) << "seed " << seed;
  EXPECT_EQ(sink.gaps[0], holes) << "seed " << seed;
  EXPECT_EQ(sink.ends[0], 1);
  EXPECT_EQ(r.stats().overlap_conflicts, 0u);
  EXPECT_EQ(r.stats().buffered_bytes, 0u);
}

TEST(ReassemblyStress, ReorderedDuplicatedOverlappingDroppedSegments) {
  for (uint32_t seed = 1; seed <= 60; ++seed) stress_once(seed);
}

}  // namespace
}  // namespace tapir::flow
