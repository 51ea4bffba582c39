// The collector's own counters, rendered as Prometheus text at /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace tapir::collector {

struct Metrics {
  std::atomic<uint64_t> batches_in{0};       // batches received
  std::atomic<uint64_t> events_in{0};        // events stored
  std::atomic<uint64_t> dedup_hits{0};       // batches already stored, skipped
  std::atomic<uint64_t> commits{0};          // store transactions
  std::atomic<uint64_t> store_errors{0};     // failed transactions
  std::atomic<uint64_t> auth_failures{0};    // streams refused
  std::atomic<int64_t> streams_active{0};
  std::atomic<int64_t> queue_depth{0};       // batches waiting for the writer
  std::atomic<uint64_t> retention_deleted{0};
  // Refused data (see collector/validate.h), counted once stored in the
  // rejects table: batches with at least one reject, rejects per reason
  // (tapir.v1.RejectReason number) and the bytes they stand for.
  static constexpr size_t kRejectReasons = 8;
  std::atomic<uint64_t> rejected_batches{0};
  std::array<std::atomic<uint64_t>, kRejectReasons> rejected_by_reason{};
  std::atomic<uint64_t> rejected_bytes{0};
  // Commit latency histogram (seconds); bucket upper bounds below.
  static constexpr std::array<double, 10> kLatencyBounds = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,  0.1,    0.25,  0.5,  1.0};
  std::array<std::atomic<uint64_t>, kLatencyBounds.size() + 1> latency_buckets{};
  std::atomic<uint64_t> latency_sum_us{0};

  void observe_commit(double seconds);
  void count_reject(int reason, uint64_t bytes);
  std::string prometheus() const;
};

}  // namespace tapir::collector
