// query_bench [EVENTS] [DB] [REPEATS]
//
// Fills a SQLite store with EVENTS flow events (default 10 million, spread
// over one day, 65,536 client addresses, 4,096 servers) through the store's
// own insert path, unless DB already holds that many; then starts a
// tapir-collector on it and times the requests the web UI makes: list pages
// (with X-Total-Count), indexed and unindexed filters, a one-hour top-10
// aggregation and a bytes-per-minute series. Prints p50/p99/max per request.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "flow_workload.h"
#include "harness.h"
#include "store/store.h"

namespace tt = tapir::testing;
namespace v1 = tapir::v1;
using namespace tapir::bench;  // NOLINT: the workload generator
using Clock = std::chrono::steady_clock;

namespace {

int64_t stored_rows(const std::string& db) {
  if (!std::filesystem::exists(db)) return 0;
  std::string out = tt::sqlite(db, "SELECT COUNT(*) FROM flow");
  return out.empty() ? 0 : std::atoll(out.c_str());
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  int64_t n = argc > 1 ? std::atoll(argv[1]) : 10'000'000;
  std::string dir = tt::temp_dir("query-bench");
  std::string db = argc > 2 ? argv[2] : dir + "/query.db";
  int repeats = argc > 3 ? std::atoi(argv[3]) : 30;

  int64_t have = stored_rows(db);
  if (have < n) {
    std::filesystem::remove(db);
    std::filesystem::remove(db + "-wal");
    std::filesystem::remove(db + "-shm");
    tapir::store::SqliteOptions opt;
    opt.readers = 1;
    auto store = tapir::store::open_sqlite(db, opt);
    Rng rng{0x9e3779b97f4a7c15ULL};
    constexpr int kPerBatch = 1000, kBatchesPerCommit = 20;
    auto t0 = Clock::now();
    uint64_t seq = 0;
    for (int64_t i = 0; i < n;) {
      std::vector<v1::EventBatch> batches;
      for (int b = 0; b < kBatchesPerCommit && i < n; ++b) {
        v1::EventBatch batch;
        batch.set_sequence(++seq);
        for (int k = 0; k < kPerBatch && i < n; ++k, ++i) fill_flow(batch.add_events()->mutable_flow(), i, n, rng);
        batches.push_back(std::move(batch));
      }
      std::vector<tapir::store::BatchIn> in;
      for (auto& b : batches) in.push_back({"bench-agent", b.sequence(), &b});
      store->insert(in);
      if (i % 1'000'000 == 0) {
        double s = std::chrono::duration<double>(Clock::now() - t0).count();
        std::fprintf(stderr, "filled %lld events, %.0f events/s\n", static_cast<long long>(i),
                     static_cast<double>(i) / s);
      }
    }
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("fill: %lld events in %.1f s through Store::insert = %.0f events/s (%.1f MB database)\n",
                static_cast<long long>(n), s, static_cast<double>(n) / s,
                static_cast<double>(std::filesystem::file_size(db)) / 1e6);
  } else {
    // Bring an older layout up to date here: the collector's start-up wait is short.
    auto t0 = Clock::now();
    tapir::store::open_sqlite(db);
    std::printf("reusing %s (%lld events; opened in %.1f s)\n", db.c_str(), static_cast<long long>(have),
                std::chrono::duration<double>(Clock::now() - t0).count());
  }

  // The harness reads the collector's ports from this file: none from an earlier run.
  std::filesystem::remove(db + ".out.1");
  tt::CollectorProcess c(db, {"--insecure", "--no-api-auth"});
  if (!c.start()) {
    std::fprintf(stderr, "collector did not start:\n%s\n", c.output().c_str());
    return 1;
  }
  httplib::Client cli("127.0.0.1", c.api_port);
  cli.set_tcp_nodelay(true);
  cli.set_read_timeout(120, 0);

  // The hour in the middle of the day.
  std::string h0 = std::to_string(kBase + kSpan / 2), h1 = std::to_string(kBase + kSpan / 2 + 3600);
  std::string hour = "ts_gte=" + h0 + "&ts_lt=" + h1;
  struct Case {
    const char* name;
    std::string path;
  } cases[] = {
      {"list, newest first (page 1)", "/api/v1/flow?_sort=ts&_order=DESC&_start=0&_end=25"},
      {"list, page 400", "/api/v1/flow?_sort=ts&_order=DESC&_start=10000&_end=10025"},
      {"src_ip_eq (indexed)", "/api/v1/flow?src_ip_eq=10.0.18.52&_sort=ts&_order=DESC&_start=0&_end=25"},
      {"community_id_eq (indexed)", "/api/v1/flow?community_id_eq=1:42&_start=0&_end=25"},
      {"one hour, newest first", "/api/v1/flow?" + hour + "&_sort=ts&_order=DESC&_start=0&_end=25"},
      {"dst_ip_eq + one hour", "/api/v1/flow?dst_ip_eq=198.51.100.3&" + hour + "&_start=0&_end=25"},
      {"dst_port_eq=53 (not indexed)", "/api/v1/flow?dst_port_eq=53&_sort=ts&_order=DESC&_start=0&_end=25"},
      {"top-10 src_ip by bytes, 1 h", "/api/v1/flow/aggregate?group_by=src_ip&metrics=sum:src_ip_bytes,count&_sort=sum:src_ip_bytes&_order=desc&_limit=10&" + hour},
      {"top-10 dst_ip by flows, 1 h", "/api/v1/flow/aggregate?group_by=dst_ip&metrics=count&_sort=count&_order=desc&_limit=10&" + hour},
      {"bytes per minute, 1 h", "/api/v1/flow/aggregate?bucket=60s&metrics=sum:src_ip_bytes&" + hour},
  };
  std::printf("\n%-32s %8s %9s %9s %9s %s\n", "request", "bytes", "p50 ms", "p99 ms", "max ms", "X-Total-Count");
  int status = 0;
  for (const auto& k : cases) {
    std::vector<double> ms;
    size_t bytes = 0;
    std::string total = "-";
    for (int i = 0; i < repeats + 1; ++i) {
      auto t0 = Clock::now();
      auto res = cli.Get(k.path);
      double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      if (!res || res->status != 200) {
        std::fprintf(stderr, "%s: %s\n", k.path.c_str(), res ? res->body.c_str() : "no response");
        status = 1;
        break;
      }
      if (i == 0) continue;  // first request warms the page cache
      ms.push_back(t);
      bytes = res->body.size();
      if (res->has_header("X-Total-Count")) total = res->get_header_value("X-Total-Count");
    }
    if (ms.empty()) continue;
    std::printf("%-32s %8zu %9.1f %9.1f %9.1f %s\n", k.name, bytes, pct(ms, 0.5), pct(ms, 0.99),
                *std::max_element(ms.begin(), ms.end()), total.c_str());
  }
  std::printf("(bytes: response size; %d timed requests each after one warm-up, one client)\n", repeats);
  return status;
}
