// ingest_bench STREAMS BATCHES_PER_STREAM EVENTS_PER_BATCH
//
// Starts a tapir-collector (SQLite in a temp dir, mTLS), opens STREAMS agent
// streams at once, each sending its batches as fast as acks allow, and
// prints events/s and the batch ack latency (write -> ack) p50/p99.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "events.h"
#include "harness.h"

namespace tt = tapir::testing;
namespace v1 = tapir::v1;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int streams = argc > 1 ? std::atoi(argv[1]) : 100;
  int batches = argc > 2 ? std::atoi(argv[2]) : 20;
  int per_batch = argc > 3 ? std::atoi(argv[3]) : 100;
  std::string dir = tt::temp_dir("ingest-bench");
  auto certs = tt::Certs::make(dir);
  tt::CollectorProcess c(dir + "/bench.db", {"--cert", certs.cert("server"), "--key",
                                                  certs.key("server"), "--ca", certs.ca(), "--no-api-auth"});
  if (!c.start()) {
    std::fprintf(stderr, "collector did not start:\n%s\n", c.output().c_str());
    return 1;
  }
  // Every stream authenticates as agent-1 or agent-2 but uses its own
  // sequence range, so batches never collide in de-duplication.
  std::vector<std::vector<v1::EventBatch>> work(static_cast<size_t>(streams));
  for (int s = 0; s < streams; ++s)
    for (int b = 0; b < batches; ++b)
      work[static_cast<size_t>(s)].push_back(tt::flow_batch(
          s % 2 ? "agent-2" : "agent-1", static_cast<uint64_t>(s / 2) * static_cast<uint64_t>(batches) + static_cast<uint64_t>(b) + 1,
          b * per_batch, per_batch));
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> failures{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      auto ch = tt::agent_channel(c.grpc_target(), &certs, s % 2 ? "agent-2" : "agent-1");
      auto stub = v1::Collector::NewStub(ch);
      grpc::ClientContext ctx;
      auto stream = stub->Export(&ctx);
      const auto& mine = work[static_cast<size_t>(s)];
      std::vector<Clock::time_point> sent(mine.size());
      std::vector<double> lat;
      std::thread reader([&] {
        v1::ExportAck ack;
        size_t next = 0;
        while (stream->Read(&ack)) {
          auto now = Clock::now();
          while (next < mine.size() && mine[next].sequence() <= ack.acked_sequence()) {
            lat.push_back(std::chrono::duration<double, std::milli>(now - sent[next]).count());
            ++next;
          }
        }
      });
      for (size_t i = 0; i < mine.size(); ++i) {
        sent[i] = Clock::now();
        if (!stream->Write(mine[i])) break;
      }
      stream->WritesDone();
      reader.join();
      if (!stream->Finish().ok()) ++failures;
      std::lock_guard lock(mu);
      latencies.insert(latencies.end(), lat.begin(), lat.end());
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[std::min(latencies.size() - 1, static_cast<size_t>(p * static_cast<double>(latencies.size())))];
  };
  double events = static_cast<double>(streams) * batches * per_batch;
  std::printf("streams=%d batches/stream=%d events/batch=%d: %.0f events in %.2f s = %.0f events/s; "
              "ack latency p50 %.1f ms p99 %.1f ms; stored %s; failed streams %d\n",
              streams, batches, per_batch, events, secs, events / secs, pct(0.5), pct(0.99),
              tt::sqlite(dir + "/bench.db", "SELECT COUNT(*) FROM flow").c_str(), failures.load());
  return failures ? 1 : 0;
}
