// Validation and salvage of agent batches at the protobuf wire level.
//
// libprotobuf refuses a whole EventBatch when any one string inside it is not
// UTF-8, and a batch that is never acknowledged blocks every later batch of
// its agent. So the collector does not parse batches whole: it walks the
// EventBatch fields itself, checks every Event against the descriptors
// (wire types, UTF-8 of string fields, known event type, sizes, timestamp
// ranges) and keeps the events that pass. What fails becomes a v1::Reject
// (reason, position, the raw bytes or their first bytes) that is stored in
// the rejects table with the events, so the batch can be acknowledged.
//
// Pure functions over bytes: no store, no gRPC; fuzzed (fuzz/collector).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tapir/v1/events.pb.h"
#include "tapir/v1/reject.pb.h"

namespace tapir::collector {

// Largest batch the collector accepts by default. Agents batch at most a few
// hundred events of a few hundred bytes (500 by default), well under 1 MiB;
// sixteen times that leaves room for sampled packets while bounding what one
// stream can make the collector hold (32 batches in flight per stream).
constexpr size_t kDefaultMaxBatchBytes = 16u << 20;
// gRPC's receive limit, above the batch limit so that a batch over the batch
// limit can still be read, quarantined and acknowledged. A message over this
// is refused by gRPC itself (RESOURCE_EXHAUSTED) and ends the stream.
constexpr size_t kGrpcMaxReceiveBytes = 64u << 20;
// Largest single event: a sampled packet carries at most one 256 KiB
// snapshot; anything four times that is not an event this collector made.
constexpr size_t kMaxEventBytes = 1u << 20;
// Nesting below an Event: the events nest three levels (Event > Flow >
// Endpoint, Timestamp); the bound stops a hostile message from recursing.
constexpr int kMaxNestingDepth = 8;
// EventBatch.instance_id is part of the de-duplication key kept per agent.
constexpr size_t kMaxInstanceIdBytes = 64;
// Raw bytes kept per reject, and per batch over all its rejects: enough to
// decode a refused event by hand (`protoc --decode_raw`), small enough that a
// hostile agent cannot fill the database through the rejects table faster
// than through events.
constexpr size_t kMaxRawBytesPerReject = 64u << 10;
constexpr size_t kMaxRawBytesPerBatch = 1u << 20;
// Reject rows per batch (an agent batches 500 events by default). Events
// refused beyond it are counted in the last row (its detail says how many).
constexpr size_t kMaxRejectsPerBatch = 1024;

struct ValidationLimits {
  size_t max_batch_bytes = kDefaultMaxBatchBytes;
  size_t max_event_bytes = kMaxEventBytes;
  size_t max_raw_bytes_per_reject = kMaxRawBytesPerReject;
  size_t max_raw_bytes_per_batch = kMaxRawBytesPerBatch;
  size_t max_rejects_per_batch = kMaxRejectsPerBatch;
};

// Why one event cannot be stored.
struct EventProblem {
  v1::RejectReason reason = v1::REJECT_MALFORMED;
  uint32_t event_type = 0;  // tapir.v1.Event field number, 0 when unknown
  std::string detail;
};

// Checks one serialised tapir.v1.Event; nullopt when it can be stored.
std::optional<EventProblem> validate_event(std::string_view wire, const ValidationLimits& limits = {});

struct SalvagedBatch {
  // The header as read. `agent_id_utf8` is false when the agent id is not UTF-8.
  std::string agent_id;
  bool agent_id_utf8 = true;
  uint64_t sequence = 0;
  std::string instance_id;
  bool instance_seen = false;  // the batch has an instance_id field
  // The whole top level was read, so instance_id is known (empty or not);
  // false when the batch broke off before the end.
  bool complete = false;
  // The header can key de-duplication: a sequence, an instance id that is
  // UTF-8 and at most kMaxInstanceIdBytes (when the batch broke off before
  // it, the stream's earlier instance stands in), and the batch was not
  // refused for its header or as garbage. A batch over the size limit with a
  // usable header is keyed, so that its resend is recognised.
  bool header_ok = false;
  // Header and the events that passed; what libprotobuf would have parsed
  // had the others not been there.
  v1::EventBatch valid;
  // Byte range [offset, offset + size) of each kept event in the input.
  std::vector<std::pair<size_t, size_t>> valid_ranges;
  // Everything refused, in input order.
  std::vector<v1::Reject> rejects;
  // Event fields found, and how many of them were refused one by one.
  uint32_t events_seen = 0;
  uint32_t events_rejected = 0;
  // Bytes refused without being split into events: the whole batch (too
  // large, bad header) or its undecodable rest.
  bool rest_rejected = false;
};

// Splits a serialised EventBatch into what can be stored and what cannot.
// Never throws; every input byte is either in a kept event, in a reject
// (as raw bytes or counted in its size), or part of the header.
// `received_ns` stamps the rejects (Reject.ts).
SalvagedBatch salvage_batch(std::string_view wire, int64_t received_ns,
                            const ValidationLimits& limits = {});

// Prometheus label of a reason: "invalid_utf8", "unknown_event_type" ...
const char* reason_label(v1::RejectReason reason);
// Every reason that has a label, for rendering counters at zero.
const std::vector<v1::RejectReason>& reject_reasons();

// One stderr line per reject, at most `burst` per `window`; lines beyond it
// are counted and reported with the next line that may be written.
class RejectLog {
 public:
  explicit RejectLog(size_t burst = 20, std::chrono::seconds window = std::chrono::seconds(60))
      : burst_(burst), window_(window) {}
  void log(const std::string& agent, const v1::Reject& r);

 private:
  std::mutex mu_;
  size_t burst_;
  std::chrono::seconds window_;
  std::chrono::steady_clock::time_point window_start_{};
  size_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace tapir::collector
