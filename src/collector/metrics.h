// The collector's own counters, rendered as Prometheus text at /metrics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "store/store.h"

namespace tapir::collector {

struct Metrics {
  std::atomic<uint64_t> batches_in{0};       // batches received
  std::atomic<uint64_t> events_in{0};        // events stored
  std::atomic<uint64_t> dedup_hits{0};       // batches already stored, skipped
  std::atomic<uint64_t> commits{0};          // store transactions
  // Failed store transactions, by cause (store::ErrorCause).
  std::array<std::atomic<uint64_t>, store::kErrorCauses> store_errors{};
  std::atomic<uint64_t> commit_retries{0};   // failed transactions tried again
  std::atomic<uint64_t> commit_give_ups{0};  // groups whose streams were failed
  std::atomic<uint64_t> auth_failures{0};    // streams refused
  // TLS handshakes that failed (no, or an untrusted, client certificate, or
  // no common protocol): such a connection never reaches the service.
  std::atomic<uint64_t> tls_handshake_failures{0};
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
  void count_store_error(store::ErrorCause c) {
    store_errors[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
  }
  std::string prometheus() const;
};

}  // namespace tapir::collector
