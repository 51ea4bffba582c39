// Bidirectional flow records kept by the flow table.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "common/ip.h"
#include "common/time.h"
#include "decode/packet.h"

namespace tapir::flow {

// Which side sent a packet, relative to the flow's originator.
enum class Direction : uint8_t { kFromOriginator = 0, kFromResponder = 1 };

inline int dir_index(Direction d) { return static_cast<int>(d); }

// What identifies a flow. Flows inside tunnels are keyed by their inner
// headers plus the tunnel id, so two tenants' identical inner 5-tuples in
// different VXLAN segments stay apart. The key is stored canonically (lower
// address/port first) so both directions find the same record.
struct FlowKey {
  IpAddr a;            // the lower (address, port) pair
  IpAddr b;
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  uint8_t ip_proto = 0;
  uint16_t vlan = 0;   // outermost VLAN id (0 = none)
  uint32_t tunnel_id = 0;

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

// Builds the canonical key of a packet; `a_is_src` tells whether the packet's
// source is side `a`. For ICMP the ports carry type/code (echo id for echo),
// as Community ID does.
FlowKey make_flow_key(const decode::Packet& p, bool& a_is_src);

// A fast, well-mixed 64-bit hash of a key. The flow table passes a random
// per-table seed so that an attacker cannot aim many flows at one bucket;
// the one-argument form uses seed 0 (stable, for tests and tools).
uint64_t hash_flow_key(const FlowKey& k, uint64_t seed);
inline uint64_t hash_flow_key(const FlowKey& k) { return hash_flow_key(k, 0); }

enum class EndReason : uint8_t { kUnknown = 0, kIdle, kActive, kFin, kRst, kEvicted, kShutdown };

// Per-direction counters.
struct DirStats {
  uint64_t packets = 0;
  uint64_t ip_bytes = 0;
  uint64_t frame_bytes = 0;
  uint64_t payload_bytes = 0;
  uint8_t tcp_flags = 0;
  uint8_t min_ttl = 255;
  bool fin_seen = false;
  uint32_t fin_seq = 0;
  MacAddr mac{};
  bool has_mac = false;
};

// State an application analyzer keeps for one flow (DNS-over-TCP buffers,
// TLS handshake parser, HTTP transactions ...). Owned by the flow record and
// destroyed with it.
class FlowAppState {
 public:
  virtual ~FlowAppState() = default;
};

// Reassembly state for both directions of a TCP flow (see reassembly.h);
// created only for flows whose analyzer asks for byte streams.
class TcpStreams;
struct TcpStreamsDeleter {
  void operator()(TcpStreams* s) const;
};

constexpr uint8_t kNoAnalyzer = 0xff;

struct FlowRecord {
  FlowKey key;
  // Originator view of the 5-tuple.
  IpAddr src_ip, dst_ip;
  uint16_t src_port = 0, dst_port = 0;
  uint8_t ip_proto = 0;
  uint8_t ip_version = 0;
  std::array<uint16_t, decode::kMaxVlans> vlans{};
  uint8_t vlan_count = 0;
  decode::TunnelInfo tunnel;

  TimeNs first_ts = 0;
  TimeNs last_ts = 0;
  std::array<DirStats, 2> dir;

  // TCP handshake timing.
  TimeNs syn_ts = 0;
  TimeNs synack_ts = 0;
  TimeNs rtt_ns = 0;  // SYN -> ACK completing the handshake
  bool rst_seen = false;

  // Community ID, computed once when the flow is created.
  std::string community_id;
  // For a flow inside a tunnel: the Community ID of the tunnel's own
  // (outermost, underlay) flow, which the table also counts, so the two
  // can be joined. Empty outside tunnels.
  std::string tunnel_community_id;

  // The application analyzer that claimed this flow (index in the engine's
  // analyzer list), or kNoAnalyzer. `app_tries` counts payload packets offered
  // to analyzers without a claim, so detection gives up after a bound.
  uint8_t app_analyzer = kNoAnalyzer;
  uint8_t app_tries = 0;
  std::string app_proto;  // "dns", "tls", "http" ... as recognised
  std::unique_ptr<FlowAppState> app_state;
  std::unique_ptr<TcpStreams, TcpStreamsDeleter> streams;

  EndReason end_reason = EndReason::kUnknown;
  uint64_t id = 0;  // table-local sequence number, for tie-breaking and tests
};

}  // namespace tapir::flow
