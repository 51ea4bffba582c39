// The bidirectional flow table: open addressing, bounded size, idle and
// active timeouts driven by the packet clock, TCP end by FIN/RST.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "decode/packet.h"
#include "flow/flow.h"

namespace tapir::flow {

struct FlowConfig {
  // Flows kept at once. When full, the least recently seen flow is ended
  // (EndReason::kEvicted) to make room; evictions are counted.
  size_t max_flows = 1u << 20;
  TimeNs tcp_idle_timeout = 300 * kNsPerSec;
  TimeNs udp_idle_timeout = 60 * kNsPerSec;
  TimeNs other_idle_timeout = 30 * kNsPerSec;
  // A long-lived flow is reported every active_timeout and continues in a new record.
  TimeNs active_timeout = 1800 * kNsPerSec;
  // After FIN from both sides or RST, the record lingers this long to count
  // trailing ACKs and retransmissions, then ends.
  TimeNs tcp_close_linger = 5 * kNsPerSec;
};

struct FlowStats {
  uint64_t created = 0;
  uint64_t ended = 0;
  uint64_t evicted = 0;
  uint64_t active = 0;  // current size
  uint64_t active_timeouts = 0;  // records ended by active_timeout (the flow continues)
  uint64_t tcp_reused = 0;       // closing TCP flows ended early by a new SYN on the same 5-tuple
  uint64_t pool_records = 0;     // records allocated so far (never more than max_flows)
};

// Told about every flow that ends, just before its record is released.
//
// For EndReason::kActive the record is *not* released: the observer reports
// it, then the table resets its counters and times in place and the flow
// continues in the same record (same address, same key, originator, Community
// ID, app_analyzer/app_state and streams). Observers must therefore leave
// app_state and streams alone for kActive; every other reason is final.
class FlowObserver {
 public:
  virtual ~FlowObserver() = default;
  virtual void on_flow_end(FlowRecord& flow) = 0;
};

class FlowTable {
 public:
  FlowTable(const FlowConfig& config, FlowObserver* observer);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  // Finds or creates the flow of an IP packet and updates its counters.
  // Returns nullptr for packets that belong to no flow (non-IP, fragments
  // that could not be reassembled). `dir` tells which side sent the packet;
  // `created` is set when this packet started the flow.
  FlowRecord* update(const decode::Packet& p, Direction& dir, bool& created);

  // Ends flows whose idle, active or close-linger time has passed.
  void expire(TimeNs now);

  // Ends every flow (end of capture, shutdown).
  void flush(EndReason reason = EndReason::kShutdown);

  const FlowStats& stats() const { return stats_; }
  const FlowConfig& config() const { return config_; }

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  FlowConfig config_;
  FlowStats stats_;
};

}  // namespace tapir::flow
