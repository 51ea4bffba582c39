// TCP stream reassembly for flows whose analyzer asks for byte streams.
//
// Per direction: in-order delivery across out-of-order segments,
// retransmissions and overlaps resolved first-wins (the bytes seen first are
// kept, as Zeek's and Suricata's defaults do), sequence wrap-around, gaps
// reported to the consumer when the receiver acknowledges past them or a
// bound is hit. Memory is bounded per flow and globally; hitting a bound is
// counted and turns into a gap, never unbounded growth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "decode/packet.h"
#include "flow/flow.h"
#include "flow/stream.h"

namespace tapir::flow {

struct ReassemblyBudget;

struct ReassemblyConfig {
  size_t max_flow_bytes = 1u << 20;     // out-of-order bytes buffered per direction
  size_t max_total_bytes = 256u << 20;  // across all flows
};

struct ReassemblyStats {
  uint64_t segments = 0;
  uint64_t bytes_delivered = 0;
  uint64_t out_of_order = 0;
  uint64_t retransmitted_bytes = 0;
  uint64_t overlap_conflicts = 0;  // overlapping bytes that differed from the kept ones
  uint64_t gaps = 0;
  uint64_t gap_bytes = 0;
  uint64_t flow_limit_hits = 0;
  uint64_t global_limit_hits = 0;
  uint64_t buffered_bytes = 0;     // current
};

class Reassembler {
 public:
  explicit Reassembler(const ReassemblyConfig& config = {});
  ~Reassembler();

  // Feeds one TCP segment of `flow` sent in direction `dir`. Bytes that
  // become contiguous are delivered to `consumer` before this returns.
  void on_segment(FlowRecord& flow, Direction dir, const decode::Packet& p,
                  StreamConsumer& consumer);
  // Delivers what can be delivered, reports remaining holes, and ends both
  // directions; called when the flow ends. Does nothing for an
  // EndReason::kActive report, after which the flow continues.
  void on_flow_end(FlowRecord& flow, StreamConsumer& consumer);

  const ReassemblyStats& stats() const { return stats_; }

 private:
  ReassemblyConfig config_;
  ReassemblyStats stats_;
  // Bytes buffered across this reassembler's flows; shared with each flow's
  // TcpStreams so that a flow outliving the reassembler stays safe.
  std::shared_ptr<ReassemblyBudget> budget_;
  friend class TcpStreams;
};

}  // namespace tapir::flow
