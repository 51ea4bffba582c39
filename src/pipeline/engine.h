// The per-worker packet pipeline: decode -> flow table -> analyzers -> sink.
// One Engine per capture worker; engines share nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "decode/decoder.h"
#include "export/sink.h"
#include "flow/flow_table.h"
#include "flow/reassembly.h"

namespace tapir::pipeline {

struct EngineConfig {
  decode::DecoderConfig decoder;
  flow::FlowConfig flow;
  flow::ReassemblyConfig reassembly;
  // Analyzers to run by name; empty = all registered.
  std::vector<std::string> analyzers;
  // Emit a Packet event for one in `packet_sampling` IP packets (0 = none).
  uint32_t packet_sampling = 0;
  // Copied into events' sampling_rate (1 = every packet was seen).
  uint32_t sampling_rate = 1;
  // Payload packets offered to analyzers before a flow is left unclaimed.
  uint8_t max_claim_tries = 4;
};

struct EngineStats {
  decode::DecodeStats decode;
  flow::FlowStats flow;
  flow::ReassemblyStats reassembly;
  uint64_t events = 0;  // committed to the sink, all types
};

class Engine : public flow::FlowObserver {
 public:
  // Fails (throws std::invalid_argument) on an unknown analyzer name.
  Engine(const EngineConfig& config, exporter::EventSink& sink);
  ~Engine() override;

  void process(const decode::RawFrame& frame);
  // Moves the engine's clock to `now` without a packet, for a live capture
  // whose interface is quiet: flows and fragments idle past their timeouts
  // end and analyzers see the tick, as if a packet had arrived at `now`.
  // Capture stamps and `now` must come from the same clock (live capture:
  // the wall clock). A `now` before the last packet's stamp is ignored.
  void advance(TimeNs now);
  // End of input: ends all flows, lets analyzers emit what is pending, flushes the sink.
  void finish();

  EngineStats stats() const;

  void on_flow_end(flow::FlowRecord& f) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tapir::pipeline
