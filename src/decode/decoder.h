// Decodes captured frames into Packet views: link layer, VLAN/MPLS, IPv4/IPv6
// (with bounded fragment reassembly), tunnels (GRE, VXLAN, Teredo, IP-in-IP)
// and TCP/UDP/ICMP/ICMPv6/ARP headers. Never allocates per packet; never
// reads outside the frame; counts every problem by reason.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "decode/packet.h"

namespace tapir::decode {

struct DecoderConfig {
  // Fragment reassembly bounds. Reaching either evicts the oldest datagrams
  // in progress (a datagram alone over max_frag_bytes is dropped); both are
  // counted as kFragmentLimit. Memory stays bounded whatever is sent.
  uint32_t max_frag_datagrams = 1024;       // datagrams in progress at once
  uint32_t max_frag_bytes = 64 * 1024 * 1024;  // total buffered bytes
  TimeNs frag_timeout = 30 * kNsPerSec;     // incomplete datagrams expire
  bool reassemble = true;
  // Decode inside tunnels (GRE and ERSPAN, IP-in-IP, and on UDP, with the
  // port on either side as tshark does: VXLAN 4789, Geneve 6081, GRE-in-UDP
  // 4754, Teredo 3544). A port of 0 turns that UDP tunnel off.
  bool decode_tunnels = true;
  uint16_t vxlan_port = 4789;
  uint16_t geneve_port = 6081;
  uint16_t teredo_port = 3544;
  uint16_t gre_udp_port = 4754;
  int max_tunnel_depth = 4;
};

struct DecodeStats {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t decoded = 0;       // frames that produced a packet without error
  uint64_t malformed = 0;     // frames with any DecodeError
  uint64_t fragments = 0;     // IP fragments seen
  uint64_t reassembled = 0;   // datagrams rebuilt
  uint64_t frag_expired = 0;  // incomplete datagrams dropped by timeout or bound
  std::array<uint64_t, static_cast<size_t>(DecodeError::kCount)> errors{};
};

enum class DecodeStatus : uint8_t {
  kOk,         // `out` describes the packet (out.error may still name a problem deeper in)
  kHeld,       // a fragment was buffered; nothing to process yet
  kMalformed,  // nothing usable (error counted; out.error says why)
};

class FragmentReassembler;

class Decoder {
 public:
  explicit Decoder(const DecoderConfig& config = {});
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  DecodeStatus decode(const RawFrame& frame, Packet& out);

  // Drops incomplete fragment chains older than the timeout (packet clock).
  void expire(TimeNs now);

  const DecodeStats& stats() const { return stats_; }

  // Fragment reassembly state: buffer bytes held (stays within
  // DecoderConfig::max_frag_bytes) and datagrams in progress.
  size_t fragment_memory() const;
  size_t fragments_pending() const;
  // Fragment table slots examined so far: the work counter that tests bound
  // per fragment (it must not grow with the number of datagrams in progress).
  uint64_t fragment_slot_visits() const;

 private:
  DecoderConfig config_;
  DecodeStats stats_;
  std::unique_ptr<FragmentReassembler> frags_;
  TimeNs last_expire_ = 0;
};

}  // namespace tapir::decode
