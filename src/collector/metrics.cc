#include "collector/metrics.h"

#include <cstdio>

#include "collector/validate.h"

namespace tapir::collector {

void Metrics::observe_commit(double seconds) {
  size_t i = 0;
  while (i < kLatencyBounds.size() && seconds > kLatencyBounds[i]) ++i;
  latency_buckets[i].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Metrics::count_reject(int reason, uint64_t bytes) {
  size_t i = reason > 0 && static_cast<size_t>(reason) < kRejectReasons ? static_cast<size_t>(reason) : 0;
  rejected_by_reason[i].fetch_add(1, std::memory_order_relaxed);
  rejected_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

std::string Metrics::prometheus() const {
  std::string out;
  auto counter = [&out](const char* name, const char* help, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  auto gauge = [&out](const char* name, const char* help, int64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " gauge\n" + name +
           " " + std::to_string(v) + "\n";
  };
  counter("tapir_collector_batches_total", "Batches received from agents.", batches_in.load());
  counter("tapir_collector_events_total", "Events stored.", events_in.load());
  counter("tapir_collector_dedup_hits_total", "Resent batches that were already stored.",
          dedup_hits.load());
  counter("tapir_collector_commits_total", "Store transactions committed.", commits.load());
  {
    const char* n = "tapir_collector_store_errors_total";
    out += std::string("# HELP ") + n + " Store transactions that failed, by cause.\n# TYPE " + n +
           " counter\n";
    for (int c = 0; c < store::kErrorCauses; ++c)
      out += std::string(n) + "{cause=\"" + store::cause_name(static_cast<store::ErrorCause>(c)) +
             "\"} " + std::to_string(store_errors[static_cast<size_t>(c)].load()) + "\n";
  }
  counter("tapir_collector_commit_retries_total",
          "Failed store transactions tried again (the batches stay unacknowledged meanwhile).",
          commit_retries.load());
  counter("tapir_collector_commit_give_ups_total",
          "Store transactions given up after retrying: their streams were failed and the agents "
          "resend.",
          commit_give_ups.load());
  counter("tapir_collector_auth_failures_total",
          "Agent streams refused after the TLS handshake (no common name, wrong token or agent id).",
          auth_failures.load());
  counter("tapir_collector_tls_handshake_failures_total",
          "Agent connections whose TLS handshake failed (untrusted or missing client certificate, "
          "no common protocol).",
          tls_handshake_failures.load());
  counter("tapir_collector_retention_deleted_total", "Rows deleted by retention.",
          retention_deleted.load());
  counter("tapir_collector_rejected_batches_total",
          "Batches of which something was refused and kept in the rejects table.", rejected_batches.load());
  {
    const char* n = "tapir_collector_rejected_events_total";
    out += std::string("# HELP ") + n +
           " Rejects stored: refused events, or batches (and undecodable rests of batches) that could "
           "not be split into events.\n# TYPE " + n + " counter\n";
    for (auto reason : reject_reasons())
      out += std::string(n) + "{reason=\"" + reason_label(reason) + "\"} " +
             std::to_string(rejected_by_reason[static_cast<size_t>(reason)].load()) + "\n";
  }
  counter("tapir_collector_rejected_bytes_total", "Bytes of refused data (kept in full or as their first bytes).",
          rejected_bytes.load());
  gauge("tapir_collector_streams", "Agent streams open.", streams_active.load());
  gauge("tapir_collector_queue_depth", "Batches waiting for the store writer.", queue_depth.load());
  const char* h = "tapir_collector_commit_seconds";
  out += std::string("# HELP ") + h + " Store commit latency.\n# TYPE " + h + " histogram\n";
  uint64_t cum = 0;
  for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
    cum += latency_buckets[i].load();
    char le[32];
    std::snprintf(le, sizeof le, "%g", kLatencyBounds[i]);
    out += std::string(h) + "_bucket{le=\"" + le + "\"} " + std::to_string(cum) + "\n";
  }
  cum += latency_buckets[kLatencyBounds.size()].load();
  out += std::string(h) + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  char sum[32];
  std::snprintf(sum, sizeof sum, "%.6f", static_cast<double>(latency_sum_us.load()) / 1e6);
  out += std::string(h) + "_sum " + sum + "\n" + h + "_count " + std::to_string(cum) + "\n";
  return out;
}

}  // namespace tapir::collector
