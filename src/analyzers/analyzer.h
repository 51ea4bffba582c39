// The analyzer extension point. An analyzer lives in its own folder under
// src/analyzers/, implements this interface and registers a factory with
// TAPIR_REGISTER_ANALYZER; the engine knows nothing else about it.
//
// Two kinds of input:
//  - packet interests (ARP frames, ICMP messages ...): on_packet() for every
//    decoded packet of those kinds;
//  - application flows (DNS, TLS, HTTP ...): the engine offers the first
//    payload-carrying packets of an unclaimed TCP/UDP flow to claim(); the
//    analyzer that claims it gets every later packet of that flow through
//    on_flow_packet(), or, if wants_streams(), the reassembled byte streams
//    through the StreamConsumer its per-flow state implements.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/time.h"
#include "decode/packet.h"
#include "export/sink.h"
#include "flow/flow.h"

namespace tapir::analyzers {

// Packet kinds an analyzer can subscribe to with interests().
namespace interest {
constexpr uint32_t kArp = 1u << 0;
constexpr uint32_t kIcmp = 1u << 1;    // ICMP and ICMPv6
constexpr uint32_t kAllIp = 1u << 2;   // every IP packet (e.g. packet sampling)
constexpr uint32_t kAll = 1u << 3;     // every decoded frame
}  // namespace interest

struct PacketView {
  const decode::Packet& pkt;
  flow::FlowRecord* flow = nullptr;  // null when the packet belongs to no flow
  flow::Direction dir = flow::Direction::kFromOriginator;
};

// What an analyzer is given when it is created.
struct AnalyzerContext {
  exporter::EventSink* sink = nullptr;
  uint32_t sampling_rate = 1;  // copied into every event's sampling_rate
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;

  // Bitmask of interest::*; 0 for pure application analyzers.
  virtual uint32_t interests() const { return 0; }
  virtual void on_packet(const PacketView& /*v*/) {}

  // Application detection. Called for payload-carrying packets of an
  // unclaimed TCP/UDP flow (a bounded number of times per flow). Return true
  // to claim it; set flow->app_proto and, if needed, flow->app_state.
  virtual bool claim(const PacketView& /*v*/) { return false; }
  // If true, a claimed TCP flow's bytes arrive through the StreamConsumer
  // that flow->app_state implements (set in claim()), not on_flow_packet().
  virtual bool wants_streams() const { return false; }
  virtual void on_flow_packet(const PacketView& /*v*/) {}
  // A claimed flow ends (after its streams were finished).
  virtual void on_flow_end(flow::FlowRecord& /*f*/) {}

  // Packet-clock housekeeping (timeouts), called about once a second of capture time.
  virtual void on_tick(TimeNs /*now*/) {}
  // End of capture: emit everything pending.
  virtual void on_shutdown() {}
};

struct AnalyzerInfo {
  std::string name;         // "dns", "tls" ...: used in configuration and --analyzers
  std::string description;  // one line for --help
  std::function<std::unique_ptr<Analyzer>(const AnalyzerContext&)> create;
};

// All analyzers linked into the binary, in registration order (sorted by name
// for a stable order).
class Registry {
 public:
  static Registry& instance();
  void add(AnalyzerInfo info);
  std::vector<AnalyzerInfo> all() const;
  const AnalyzerInfo* find(std::string_view name) const;

 private:
  std::vector<AnalyzerInfo> infos_;
};

struct Registrar {
  explicit Registrar(AnalyzerInfo info) { Registry::instance().add(std::move(info)); }
};

}  // namespace tapir::analyzers

#define TAPIR_CONCAT_INNER(a, b) a##b
#define TAPIR_CONCAT(a, b) TAPIR_CONCAT_INNER(a, b)
// Registers an analyzer: TAPIR_REGISTER_ANALYZER("dns", "DNS over UDP and TCP", factory)
#define TAPIR_REGISTER_ANALYZER(name, description, factory) \
  static const ::tapir::analyzers::Registrar TAPIR_CONCAT(tapir_registrar_, __LINE__)({name, description, factory})
