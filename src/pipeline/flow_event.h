// Turning a flow record into the Flow event the agent exports.
#pragma once

#include <cstdint>

#include "flow/flow.h"
#include "tapir/v1/events.pb.h"

namespace tapir::pipeline {

// Fills every field of `out` from `f` (header oriented as the flow: src =
// originator). Durations and RTT are rounded down to microseconds.
void fill_flow_event(const flow::FlowRecord& f, v1::Flow& out, uint32_t sampling_rate);

}  // namespace tapir::pipeline
