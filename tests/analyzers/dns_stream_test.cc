// DNS over TCP framing and DNS detection, with real messages from the
// corpus: the tcpdump dns_tcp query/response delivered whole, byte by byte,
// several per segment and across a gap must give the transaction tshark
// shows; the dns_udp exchange moved to an odd port must still be found by
// content; an unanswered query must come out on the packet clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "analyzers/dns/analyzer.h"
#include "engine_run.h"
#include "export/memory_sink.h"
#include "oracle.h"

namespace tapir::analyzers::dns {
namespace {

using tapir::testing::corpus;
using flow::Direction;

struct TcpExchange {
  std::vector<uint8_t> query;     // client bytes, length prefix included
  std::vector<uint8_t> response;  // server bytes
};

TcpExchange load_dns_tcp() {
  std::string err;
  auto frames = tapir::testing::read_pcap(corpus("tcpdump/dns_tcp/dns_tcp.pcap"), err);
  EXPECT_EQ(frames.size(), 11u) << err;
  TcpExchange x;
  for (const auto& f : frames) {
    Bytes p;
    uint16_t sp = 0, dp = 0;
    if (!tapir::testing::tcp_payload(f, p, sp, dp) || p.empty()) continue;
    auto& into = dp == 53 ? x.query : x.response;
    into.insert(into.end(), p.begin(), p.end());
  }
  // tshark: frame 4 carries 58 bytes, frame 6 carries 226.
  EXPECT_EQ(x.query.size(), 58u);
  EXPECT_EQ(x.response.size(), 226u);
  return x;
}

flow::FlowRecord make_flow() {
  flow::FlowRecord f;
  const uint8_t c[4] = {192, 168, 1, 11};
  const uint8_t s[4] = {209, 87, 249, 18};
  f.src_ip = IpAddr::v4(c);
  f.dst_ip = IpAddr::v4(s);
  f.src_port = 33779;
  f.dst_port = 53;
  f.ip_proto = 6;
  f.ip_version = 4;
  return f;
}

// The transaction of tshark's dns_tcp rows 4 and 6.
void expect_tcpdump_transaction(const v1::Dns& d) {
  EXPECT_EQ(d.trans_id(), 17177u);
  EXPECT_TRUE(d.has_query());
  EXPECT_TRUE(d.has_response());
  EXPECT_EQ(d.query(), "www.tcpdump.org");
  ASSERT_EQ(d.answers_size(), 2);
  EXPECT_EQ(d.answers(0).data(), "192.139.46.66");
  EXPECT_EQ(d.answers(1).data(), "198.199.88.104");
  EXPECT_EQ(d.authorities_size(), 2);
  EXPECT_TRUE(d.anomalies().empty());
  EXPECT_EQ(ip_bytes_to_string(d.src().ip()), "192.168.1.11");
}

std::vector<v1::Dns> dns_events(const exporter::MemorySink& sink) {
  std::vector<v1::Dns> out;
  for (const auto& e : sink.events())
    if (e.has_dns()) out.push_back(e.dns());
  return out;
}

TEST(DnsTcpFraming, WholeAndByteByByte) {
  const TcpExchange x = load_dns_tcp();
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}}) {
    SCOPED_TRACE("chunk " + std::to_string(chunk));
    exporter::MemorySink sink;
    DnsAnalyzer a(AnalyzerContext{&sink, 1});
    flow::FlowRecord f = make_flow();
    DnsFlowState s(&a, &f);
    auto feed = [&](Direction d, const std::vector<uint8_t>& b, TimeNs ts) {
      for (size_t i = 0; i < b.size(); i += chunk)
        s.on_stream_data(d, b.data() + i, std::min(chunk, b.size() - i), ts);
    };
    feed(Direction::kFromOriginator, x.query, 1000);
    feed(Direction::kFromResponder, x.response, 5000);
    a.on_shutdown();
    const auto ev = dns_events(sink);
    ASSERT_EQ(ev.size(), 1u);
    expect_tcpdump_transaction(ev[0]);
    EXPECT_EQ(ev[0].rtt_us(), 4u);
  }
}

// Two copies of a message with the id rewritten, back to back.
std::vector<uint8_t> twice(const std::vector<uint8_t>& m, uint16_t id2) {
  std::vector<uint8_t> out = m;
  std::vector<uint8_t> second = m;
  store_be16(&second[2], id2);  // after the 2-byte length prefix
  out.insert(out.end(), second.begin(), second.end());
  return out;
}

TEST(DnsTcpFraming, SeveralMessagesPerSegment) {
  const TcpExchange x = load_dns_tcp();
  exporter::MemorySink sink;
  DnsAnalyzer a(AnalyzerContext{&sink, 1});
  flow::FlowRecord f = make_flow();
  DnsFlowState s(&a, &f);
  const auto q = twice(x.query, 4242);
  const auto r = twice(x.response, 4242);
  s.on_stream_data(Direction::kFromOriginator, q.data(), q.size(), 1000);
  // Responses split at an odd place: mid-way through the second length prefix.
  const size_t cut = x.response.size() + 1;
  s.on_stream_data(Direction::kFromResponder, r.data(), cut, 2000);
  s.on_stream_data(Direction::kFromResponder, r.data() + cut, r.size() - cut, 3000);
  a.on_shutdown();
  const auto ev = dns_events(sink);
  ASSERT_EQ(ev.size(), 2u);
  expect_tcpdump_transaction(ev[0]);
  EXPECT_EQ(ev[1].trans_id(), 4242u);
  EXPECT_TRUE(ev[1].has_query() && ev[1].has_response());
  EXPECT_EQ(ev[1].rtt_us(), 2u);  // completed by the second chunk, at t=3000 ns
}

TEST(DnsTcpFraming, GapLosesOnlyWhatIsMissing) {
  const TcpExchange x = load_dns_tcp();
  exporter::MemorySink sink;
  DnsAnalyzer a(AnalyzerContext{&sink, 1});
  flow::FlowRecord f = make_flow();
  DnsFlowState s(&a, &f);
  const auto q = twice(x.query, 4242);
  s.on_stream_data(Direction::kFromOriginator, q.data(), q.size(), 1000);
  // The first response is cut by a hole; the second arrives intact after it.
  s.on_stream_data(Direction::kFromResponder, x.response.data(), 100, 2000);
  s.on_stream_gap(Direction::kFromResponder, x.response.size() - 100);
  auto second = x.response;
  store_be16(&second[2], 4242);
  s.on_stream_data(Direction::kFromResponder, second.data(), second.size(), 3000);
  a.on_shutdown();
  const auto ev = dns_events(sink);
  ASSERT_EQ(ev.size(), 2u);
  // The answered one comes first; the one whose response was lost at shutdown.
  EXPECT_EQ(ev[0].trans_id(), 4242u);
  EXPECT_TRUE(ev[0].has_response());
  EXPECT_EQ(ev[1].trans_id(), 17177u);
  EXPECT_TRUE(ev[1].has_query());
  EXPECT_FALSE(ev[1].has_response());
}

// dns_udp's two frames, with the server moved from port 53 to `port`.
std::vector<tapir::testing::Frame> dns_udp_on_port(uint16_t port) {
  std::string err;
  auto frames = tapir::testing::read_pcap(corpus("tcpdump/dns_udp/dns_udp.pcap"), err);
  EXPECT_EQ(frames.size(), 2u) << err;
  for (auto& f : frames) {
    size_t off = 0;
    uint8_t proto = 0;
    EXPECT_TRUE(tapir::testing::l4_offset(f, off, proto));
    uint8_t* udp = &f.data[off];
    if (load_be16(udp) == 53) store_be16(udp, port);
    if (load_be16(udp + 2) == 53) store_be16(udp + 2, port);
    store_be16(udp + 6, 0);  // IPv4 UDP checksum optional: 0 = none
  }
  return frames;
}

std::string temp_pcap(const char* name) {
  return std::string(TAPIR_BINARY_DIR) + "/" + name + "-" + std::to_string(getpid()) + ".pcap";
}

TEST(DnsDetection, OddPortFoundByContent) {
  const std::string path = temp_pcap("dns-odd-port");
  ASSERT_TRUE(tapir::testing::write_pcap(path, dns_udp_on_port(8053)));
  std::string err;
  auto events = tapir::testing::run_capture(path, {"dns"}, {v1::Event::kDns}, err);
  std::remove(path.c_str());
  ASSERT_EQ(err, "");
  ASSERT_EQ(events.size(), 1u);
  const v1::Dns& d = events[0].dns();
  EXPECT_EQ(d.dst().port(), 8053u);
  EXPECT_EQ(d.query(), "www.tcpdump.org");
  EXPECT_TRUE(d.has_query() && d.has_response());
  EXPECT_EQ(d.answers_size(), 2);
}

TEST(DnsDetection, NotDnsOnOddPortLeftAlone) {
  // The same frames with the DNS header zeroed: nothing plausible, no claim.
  auto frames = dns_udp_on_port(8053);
  for (auto& f : frames) {
    size_t off = 0;
    uint8_t proto = 0;
    ASSERT_TRUE(tapir::testing::l4_offset(f, off, proto));
    for (size_t i = off + 8; i < off + 8 + kHeaderLen; ++i) f.data[i] = 0;
  }
  const std::string path = temp_pcap("dns-odd-port-junk");
  ASSERT_TRUE(tapir::testing::write_pcap(path, frames));
  std::string err;
  auto events = tapir::testing::run_capture(path, {"dns"}, {v1::Event::kDns}, err);
  std::remove(path.c_str());
  EXPECT_TRUE(events.empty());
}

TEST(DnsTimeout, UnansweredQueryEmittedOnPacketClock) {
  // The dns_udp query alone, then an ICMP echo 30 s later (icmp-ping frame 1,
  // re-timed): the query must be reported before that later packet's event.
  auto dns = dns_udp_on_port(53);
  std::string err;
  auto icmp = tapir::testing::read_pcap(corpus("zeek/icmp__icmp-ping/icmp-ping.pcap"), err);
  ASSERT_FALSE(icmp.empty()) << err;
  std::vector<tapir::testing::Frame> frames{dns[0], icmp[0]};
  frames[1].ts_us = frames[0].ts_us + 30 * 1000000ll;
  const std::string path = temp_pcap("dns-timeout");
  ASSERT_TRUE(tapir::testing::write_pcap(path, frames));
  auto events =
      tapir::testing::run_capture(path, {"dns", "icmp"}, {v1::Event::kDns, v1::Event::kIcmp}, err);
  std::remove(path.c_str());
  ASSERT_EQ(events.size(), 2u);
  ASSERT_TRUE(events[0].has_dns());
  EXPECT_TRUE(events[0].dns().has_query());
  EXPECT_FALSE(events[0].dns().has_response());
  EXPECT_EQ(events[0].dns().rtt_us(), 0u);
  EXPECT_TRUE(events[1].has_icmp());
}

}  // namespace
}  // namespace tapir::analyzers::dns
