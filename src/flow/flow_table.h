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
  // After FIN from both sides or RST, the record lingers this long after its
  // last packet, so that the last ACK, retransmitted FINs (their back-off
  // doubles: 0.2, 0.4 ... 28.7 s) and a trailing RST still count in the flow
  // they close instead of starting a new, reversed one. 60 s is Suricata's
  // closed-TCP timeout. Lingering never costs a live flow its place: when the
  // table is full, closed flows are ended first (FlowStats::linger_cut). A
  // bare SYN on a lingering 5-tuple is a new connection and ends it at once.
  TimeNs tcp_close_linger = 60 * kNsPerSec;
};

struct FlowStats {
  uint64_t created = 0;
  uint64_t ended = 0;
  uint64_t evicted = 0;
  uint64_t active = 0;  // current size
  uint64_t active_timeouts = 0;  // records ended by active_timeout (the flow continues)
  uint64_t tcp_reused = 0;       // closing TCP flows ended early by a new SYN on the same 5-tuple
  uint64_t linger_cut = 0;       // closed TCP flows ended before their linger to make room
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

  // Counts the tunnels' own transport flows of a tunnelled packet (the UDP
  // 4789 flow of VXLAN, the Teredo UDP flow, the GRE flow between the
  // endpoints ...), one per level in p.outer, outermost first; their
  // app_proto names the tunnel. Call it for every decoded frame, before
  // update(), whatever the inner packet's state (held fragment, damage):
  // the outer headers were read whole.
  void update_outer(const decode::Packet& p) {
    if (p.outer_count != 0) update_outer_levels(p);
  }

  // Ends flows whose idle, active or close-linger time has passed.
  void expire(TimeNs now);

  // Ends every flow (end of capture, shutdown).
  void flush(EndReason reason = EndReason::kShutdown);

  const FlowStats& stats() const { return stats_; }
  const FlowConfig& config() const { return config_; }

 private:
  void update_outer_levels(const decode::Packet& p);

  class Impl;
  std::unique_ptr<Impl> impl_;
  FlowConfig config_;
  FlowStats stats_;
};

}  // namespace tapir::flow
