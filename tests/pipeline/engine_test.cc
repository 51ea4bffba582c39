// The engine's contract with analyzers across active-timeout reports: a
// long-lived flow is reported every active_timeout and continues in the same
// record, so its application analyzer must keep its state and byte streams;
// and a tunnel's own transport is reported as a flow linked to its inner flows.
// Oracle: the tshark tables shipped with the capture.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture/source.h"
#include "common/ip.h"
#include "export/memory_sink.h"
#include "pipeline/engine.h"

namespace tapir {
namespace {

const std::string kCase = std::string(TAPIR_TESTDATA) + "/zeek/http__get/get";

std::vector<std::vector<std::string>> read_tsv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (!line.empty() && line.back() == '\t') cols.emplace_back();
    rows.push_back(cols);
  }
  return rows;
}

std::vector<v1::Event> run(const pipeline::EngineConfig& cfg) {
  std::string err;
  auto src = capture::open_file(kCase + ".pcap", err);
  EXPECT_TRUE(src) << err;
  exporter::MemorySink sink;
  pipeline::Engine engine(cfg, sink);
  decode::RawFrame f;
  while (src && src->next(f) == capture::ReadStatus::kFrame) engine.process(f);
  engine.finish();
  return sink.take();
}

TEST(EngineActiveTimeout, AnalyzerStateSurvivesProgressReports) {
  auto flows_tsv = read_tsv(kCase + ".flows.tsv");
  auto http_tsv = read_tsv(kCase + ".http.tsv");
  ASSERT_GE(flows_tsv.size(), 2u);
  ASSERT_GE(http_tsv.size(), 3u);
  // tshark: one TCP stream with this many packets each way.
  const auto& hdr = flows_tsv[0];
  auto col = [&](const char* name) {
    for (size_t i = 0; i < hdr.size(); ++i)
      if (hdr[i] == name) return i;
    ADD_FAILURE() << "no column " << name;
    return size_t{0};
  };
  const uint64_t orig_pkts = std::stoull(flows_tsv[1][col("orig_pkts")]);
  const uint64_t resp_pkts = std::stoull(flows_tsv[1][col("resp_pkts")]);
  // tshark: the request line and the status of the response.
  const std::string method = http_tsv[1][7], host = http_tsv[1][8], uri = http_tsv[1][9];
  const std::string status = http_tsv[2][12];
  ASSERT_EQ(method, "GET");

  pipeline::EngineConfig cfg;
  cfg.flow.active_timeout = 20 * kNsPerMs;  // the connection lasts 212 ms
  const auto events = run(cfg);

  int http = 0, active_reports = 0, records = 0;
  uint64_t src_pkts = 0, dst_pkts = 0;
  for (const auto& e : events) {
    if (e.has_http()) {
      ++http;
      EXPECT_EQ(e.http().method(), method);
      EXPECT_EQ(e.http().host(), host);
      EXPECT_EQ(e.http().uri(), uri);
      EXPECT_EQ(std::to_string(e.http().status()), status);
    }
    if (e.has_flow() && e.flow().ip_proto() == 6) {
      ++records;
      if (e.flow().end_reason() == v1::END_ACTIVE) ++active_reports;
      src_pkts += e.flow().src_packets();
      dst_pkts += e.flow().dst_packets();
    }
  }
  // The transaction is reported once, complete, although the flow was reported
  // several times while it was in progress.
  EXPECT_EQ(http, 1);
  EXPECT_GE(active_reports, 2);
  EXPECT_EQ(records, active_reports + 1);
  // The progress records add up to the connection tshark sees.
  EXPECT_EQ(src_pkts, orig_pkts);
  EXPECT_EQ(dst_pkts, resp_pkts);
}

// A live capture on a quiet interface: no packet comes to drive the clock,
// so the agent advances it on the capture timeout. Every flow of the capture
// must then end (idle or FIN), none by shutdown, as many as tshark counts.
TEST(EngineAdvance, QuietInterfaceEndsIdleFlowsWithoutFinish) {
  auto flows_tsv = read_tsv(kCase + ".flows.tsv");
  ASSERT_GE(flows_tsv.size(), 2u);
  std::string err;
  auto src = capture::open_file(kCase + ".pcap", err);
  ASSERT_TRUE(src) << err;
  exporter::MemorySink sink;
  pipeline::EngineConfig cfg;
  pipeline::Engine engine(cfg, sink);
  decode::RawFrame f;
  TimeNs last = 0;
  while (src->next(f) == capture::ReadStatus::kFrame) {
    engine.process(f);
    last = f.ts;
  }
  auto count_flows = [](const std::vector<v1::Event>& evs, bool& shutdown) {
    size_t n = 0;
    for (const auto& e : evs)
      if (e.has_flow()) {
        ++n;
        if (e.flow().end_reason() == v1::END_SHUTDOWN) shutdown = true;
      }
    return n;
  };
  bool shutdown = false;
  size_t before = count_flows(sink.take(), shutdown);
  // Earlier than the last packet: ignored, nothing ends.
  engine.advance(last - 3600 * kNsPerSec);
  EXPECT_EQ(count_flows(sink.take(), shutdown), 0u);
  engine.advance(last + 3600 * kNsPerSec);
  size_t after = count_flows(sink.take(), shutdown);
  EXPECT_EQ(before + after, flows_tsv.size() - 1) << "flows ended by advance() vs tshark's conversations";
  EXPECT_GT(after, 0u);
  EXPECT_FALSE(shutdown);
  // finish() has nothing left to end.
  engine.finish();
  EXPECT_EQ(count_flows(sink.take(), shutdown), 0u);
}

}  // namespace
}  // namespace tapir

namespace tapir {
namespace {

// A tunnel's own transport is reported as a flow (app_proto "vxlan") and
// every tunnelled flow names it through tunnel.community_id. Oracle: the
// tshark flows table of the capture, whose rows are the outer UDP 4789 streams.
TEST(EngineTunnels, TransportFlowsReportedAndLinkedToInnerFlows) {
  const std::string stem = std::string(TAPIR_TESTDATA) + "/tcpdump/vxlan/vxlan";
  std::string err;
  auto src = capture::open_file(stem + ".pcap", err);
  ASSERT_TRUE(src) << err;
  exporter::MemorySink sink;
  pipeline::Engine engine(pipeline::EngineConfig{}, sink);
  decode::RawFrame f;
  while (src->next(f) == capture::ReadStatus::kFrame) engine.process(f);
  engine.finish();

  std::vector<v1::Flow> outer, inner;
  for (const v1::Event& e : sink.take()) {
    if (!e.has_flow()) continue;
    (e.flow().has_tunnel() ? inner : outer).push_back(e.flow());
  }
  const auto rows = read_tsv(stem + ".flows.tsv");
  ASSERT_EQ(rows.size(), 5u);  // header + 4 streams
  ASSERT_EQ(outer.size(), 4u);
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    bool found = false;
    for (const v1::Flow& o : outer) {
      if (ip_bytes_to_string(o.src().ip()) != r[2] || std::to_string(o.src().port()) != r[3]) continue;
      found = true;
      EXPECT_EQ(o.app_proto(), "vxlan");
      EXPECT_EQ(std::to_string(o.dst().port()), r[5]);
      EXPECT_EQ(std::to_string(o.src_packets()), r[9]);
      EXPECT_EQ(std::to_string(o.src_frame_bytes()), r[10]);
      EXPECT_EQ(std::to_string(o.src_ip_bytes()), r[11]);
      EXPECT_EQ(std::to_string(o.src_payload_bytes()), r[12]);
      EXPECT_EQ(std::to_string(o.dst_packets()), r[14]);
    }
    EXPECT_TRUE(found) << "no transport flow for tshark stream " << r[1];
  }
  // tshark: 8 ICMP echo frames inside VXLAN (the 2 ARP frames have no IP flow).
  ASSERT_FALSE(inner.empty());
  uint64_t inner_packets = 0;
  for (const v1::Flow& in : inner) {
    inner_packets += in.src_packets() + in.dst_packets();
    EXPECT_EQ(in.tunnel().type(), v1::TUNNEL_VXLAN);
    const v1::Flow* carrier = nullptr;
    for (const v1::Flow& o : outer) {
      if (o.community_id() == in.tunnel().community_id()) carrier = &o;
    }
    ASSERT_NE(carrier, nullptr) << "inner flow's tunnel.community_id names no transport flow";
    const bool same = carrier->src().ip() == in.tunnel().src_ip() &&
                      carrier->dst().ip() == in.tunnel().dst_ip();
    const bool swapped = carrier->src().ip() == in.tunnel().dst_ip() &&
                         carrier->dst().ip() == in.tunnel().src_ip();
    EXPECT_TRUE(same || swapped);
  }
  EXPECT_EQ(inner_packets, 8u);
}

}  // namespace
}  // namespace tapir
