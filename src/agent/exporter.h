// Export of event batches to a collector over the gRPC stream
// `tapir.v1.Collector/Export`, with cumulative acknowledgements, a bounded
// in-memory queue and a bounded on-disk spool.
//
// Every sealed batch gets the next sequence number and joins one ordered
// backlog. The newest batches stay in memory (at most `queue_batches` /
// `queue_bytes`); older ones are moved to the spool, so memory is bounded
// however long the collector stalls, and the backlog is always sent in
// sequence order. A batch leaves the backlog only when the collector
// acknowledges it (or when a bound forces a drop, which is counted).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <google/protobuf/arena.h>

#include "agent/spool.h"
#include "tapir/v1/events.pb.h"

namespace tapir::agent {

enum class DropPolicy : uint8_t {
  kOldest,  // make room by deleting the oldest unsent spooled batch
  kNewest,  // refuse the batch that does not fit
};

struct TransportConfig {
  // host:port of the collector.
  std::string collector;
  // Plain text (no TLS). Off by default; logs a warning when used.
  bool insecure = false;
  // PEM files: CA that signed the collector's certificate, this agent's
  // certificate and key (mutual TLS).
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // Name expected in the collector certificate when it differs from the host in `collector`.
  std::string server_name;
  // Optional shared secret sent as `authorization: Bearer <token>`.
  std::string token;
};

struct ExporterConfig {
  std::string agent_id;
  TransportConfig transport;
  // In-memory bound of the backlog; batches beyond it are moved to the spool.
  size_t queue_batches = 64;
  uint64_t queue_bytes = 64ull << 20;
  // Batches sent but not yet acknowledged.
  size_t max_in_flight = 32;
  SpoolConfig spool;
  DropPolicy drop_policy = DropPolicy::kOldest;
  // Reconnect delay: doubles from initial up to max, with jitter. The same
  // bounds drive gRPC's own reconnection of the channel, and the agent starts
  // a stream as soon as the channel is ready again, so a collector that comes
  // back is streaming again within about backoff_max.
  std::chrono::milliseconds backoff_initial{100};
  std::chrono::milliseconds backoff_max{1000};
  // Longest one connection attempt (TCP and TLS handshake) may take.
  std::chrono::milliseconds connect_timeout{5000};
  // How often an Agent event is sent besides once per connection (0 = only on connect).
  std::chrono::milliseconds report_interval{60000};
};

// A batch being built in a protobuf arena (no allocation per event).
struct OwnedBatch {
  std::unique_ptr<google::protobuf::Arena> arena;
  v1::EventBatch* batch = nullptr;
  static OwnedBatch make();
};

struct ExporterStats {
  uint64_t batches_submitted = 0;
  uint64_t events_submitted = 0;
  uint64_t batches_sent = 0;  // writes to a stream, resends included
  uint64_t events_sent = 0;
  uint64_t batches_acked = 0;
  uint64_t events_acked = 0;
  uint64_t acked_sequence = 0;
  uint64_t duplicates = 0;  // as reported by the collector
  uint64_t batches_spooled = 0;  // ever written to the spool
  uint64_t events_spooled = 0;
  // Current backlog.
  uint64_t queue_batches = 0;  // in memory
  uint64_t queue_bytes = 0;
  uint64_t spool_batches = 0;
  uint64_t spool_bytes = 0;
  uint64_t spool_events = 0;
  uint64_t in_flight = 0;
  // Drops, by reason (batches and events).
  uint64_t dropped_batches_spool_full = 0;
  uint64_t dropped_events_spool_full = 0;
  uint64_t dropped_batches_queue_full = 0;  // no spool configured
  uint64_t dropped_events_queue_full = 0;
  uint64_t dropped_batches_spool_error = 0;  // write/read failure or damaged file
  uint64_t dropped_events_spool_error = 0;
  uint64_t dropped_batches_shutdown = 0;  // unacknowledged at exit with no spool
  uint64_t dropped_events_shutdown = 0;
  // Writes of the sequence counter to the spool that failed. Each one starts
  // a fresh instance id for the numbers that could not be made durable, so
  // no (instance, sequence) is ever used twice.
  uint64_t sequence_write_failures = 0;
  uint64_t instance_changes = 0;
  // Streams that ended because the collector could not store (it retried and
  // gave up); their batches were resent.
  uint64_t store_failures = 0;
  // Connection attempts whose TLS handshake failed.
  uint64_t tls_failures = 0;
  uint64_t spool_corrupt_recovered = 0;
  uint64_t connects = 0;  // streams that delivered at least one ack
  uint64_t reconnects = 0;  // stream attempts after the first
  uint64_t stream_failures = 0;
  bool connected = false;
  std::string last_error;
  uint64_t next_sequence = 0;
  std::string instance_id;  // the sequence space new batches are numbered in

  uint64_t dropped_events() const {
    return dropped_events_spool_full + dropped_events_queue_full + dropped_events_spool_error +
           dropped_events_shutdown;
  }
};

class Exporter {
 public:
  // Builds credentials, opens the spool and restores the sequence counter;
  // nullptr and `err` (one line naming the problem) on failure.
  static std::unique_ptr<Exporter> create(const ExporterConfig& config, std::string& err);
  ~Exporter();

  // Called on connect and every report_interval to fill the Agent event.
  void set_reporter(std::function<void(v1::Agent&)> reporter);
  // Starts the sending thread.
  void start();
  // Thread-safe. Numbers the batch and queues it; never waits for the network
  // (it may write to the spool when the in-memory bound is reached).
  void submit(OwnedBatch batch);
  // Waits up to `drain` for every queued batch to be acknowledged, then stops
  // and moves what is left to the spool (without a spool it is dropped and
  // counted). The last status report is made after those drops are counted,
  // and is sent (or spooled) before the exporter stops, so the collector's
  // last Agent event carries every drop of the run.
  void stop(std::chrono::milliseconds drain);
  // True when everything submitted has been acknowledged or dropped.
  bool idle() const;
  ExporterStats stats() const;
  const ExporterConfig& config() const;

 private:
  Exporter();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Longest text value of the agent's report (host name, OS, interface or file
// name, label): host names are at most 255 bytes and paths rarely longer
// than 4096; a longer value is cut, never sent whole.
constexpr size_t kMaxReportText = 4096;

// Makes every text field of the report valid UTF-8 without control
// characters (docs/analyzers.md, "Text from the wire"): host and
// configuration text can be any bytes (file names, interface names), and a
// collector rejects a batch whose strings are not UTF-8.
void escape_report_text(v1::Agent& a);

// Reads a whole (small) file; false and `err` naming it on failure.
bool read_text_file(const std::string& path, std::string& out, std::string& err);

}  // namespace tapir::agent
