// ingest_bench STREAMS BATCHES_PER_STREAM EVENTS_PER_BATCH [realistic|narrow]
//
// realistic (default): flows from bench/common/flow_workload.h (65,536
// clients, unique Community IDs, rising timestamps); narrow: the test
// suite's synthetic flows, a few dozen distinct values per column, which
// flatters index upkeep.
//
// Starts a tapir-collector (SQLite in a temp dir, mTLS), opens STREAMS agent
// streams at once, each sending its batches as fast as acks allow, and
// prints events/s and the batch ack latency (write -> ack) p50/p99.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "events.h"
#include "flow_workload.h"
#include "harness.h"

namespace tt = tapir::testing;
namespace v1 = tapir::v1;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int streams = argc > 1 ? std::atoi(argv[1]) : 100;
  int batches = argc > 2 ? std::atoi(argv[2]) : 20;
  int per_batch = argc > 3 ? std::atoi(argv[3]) : 100;
  bool narrow = argc > 4 && std::string(argv[4]) == "narrow";
  std::string dir = tt::temp_dir("ingest-bench");
  // One identity per stream up to 100 (1000 streams: ten per identity).
  const int identities = std::min(streams, 100);
  auto certs = tt::Certs::make(dir, identities);
  auto identity = [&](int s) { return "agent-" + std::to_string(s % identities + 1); };
  tt::CollectorProcess c(dir + "/bench.db", {"--cert", certs.cert("server"), "--key",
                                                  certs.key("server"), "--ca", certs.ca(), "--no-api-auth"});
  if (!c.start()) {
    std::fprintf(stderr, "collector did not start:\n%s\n", c.output().c_str());
    return 1;
  }
  // Streams sharing an identity get sequences dealt round-robin: they
  // advance side by side and the collector sees each identity's sequences
  // nearly in order, as from one agent. (Consecutive ranges per stream would
  // put thousands of sequences out of order, past the collector's reorder
  // window of 4096 per agent; it would then count the stragglers as
  // duplicates of batches it had given up on, and not store them.)
  const uint64_t per_identity = static_cast<uint64_t>((streams + identities - 1) / identities);
  std::vector<std::vector<v1::EventBatch>> work(static_cast<size_t>(streams));
  for (int s = 0; s < streams; ++s)
    for (int b = 0; b < batches; ++b) {
      std::string who = identity(s);
      uint64_t seq = static_cast<uint64_t>(b) * per_identity + static_cast<uint64_t>(s / identities) + 1;
      if (narrow) {
        work[static_cast<size_t>(s)].push_back(tt::flow_batch(who, seq, b * per_batch, per_batch));
        continue;
      }
      v1::EventBatch batch;
      batch.set_agent_id(who);
      batch.set_sequence(seq);
      tapir::bench::Rng rng{0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(s) * 7919 + static_cast<uint64_t>(b)};
      int64_t total = static_cast<int64_t>(streams) * batches * per_batch;
      for (int k = 0; k < per_batch; ++k)
        tapir::bench::fill_flow(batch.add_events()->mutable_flow(),
                                (static_cast<int64_t>(b) * streams + s) * per_batch + k, total, rng);
      work[static_cast<size_t>(s)].push_back(std::move(batch));
    }
  std::mutex mu;
  std::vector<double> latencies;
  std::atomic<int> failures{0};
  std::atomic<uint64_t> duplicates{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < streams; ++s) {
    threads.emplace_back([&, s] {
      auto ch = tt::agent_channel(c.grpc_target(), &certs, identity(s));
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
          duplicates += ack.duplicates();
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
  std::printf("%s flows, streams=%d batches/stream=%d events/batch=%d: %.0f events in %.2f s = %.0f events/s; "
              "ack latency p50 %.1f ms p99 %.1f ms; stored %s; acked as duplicates %llu batches; failed streams %d\n",
              narrow ? "narrow" : "realistic", streams, batches, per_batch, events, secs, events / secs, pct(0.5), pct(0.99),
              tt::sqlite(dir + "/bench.db", "SELECT COUNT(*) FROM flow").c_str(),
              static_cast<unsigned long long>(duplicates.load()), failures.load());
  return failures ? 1 : 0;
}
