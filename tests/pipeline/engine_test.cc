// The engine's contract with analyzers across active-timeout reports: a
// long-lived flow is reported every active_timeout and continues in the same
// record, so its application analyzer must keep its state and byte streams.
// Oracle: the tshark tables shipped with the capture.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture/source.h"
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
