// Internal to the decoder: the state carried while one frame is walked layer
// by layer, and the per-layer entry points (one .cc file per layer). Each
// layer function reads only from the ByteReader it is given, fills its part of
// the Packet and hands the rest to the next layer.
#pragma once

#include <algorithm>
#include <cstdint>

#include "common/bytes.h"
#include "decode/decoder.h"
#include "decode/packet.h"

namespace tapir::decode {
class FragmentReassembler;
struct FragmentIn;
}  // namespace tapir::decode

namespace tapir::decode::detail {

// Hard ceiling on tunnel nesting whatever the configuration says: every
// tunnel layer is a level of recursion, so the stack must stay small.
constexpr int kHardMaxTunnelDepth = 8;

struct Ctx {
  const DecoderConfig& cfg;
  DecodeStats& stats;
  FragmentReassembler* frags;
  Packet& pkt;
  TimeNs ts = 0;
  int depth = 0;                // tunnel layers entered so far
  bool in_reassembled = false;  // decoding a datagram rebuilt from fragments
  bool held = false;            // a fragment was buffered; nothing more to decode
  bool first_fragment = false;  // current datagram is a first fragment kept as is
  bool skip_ip_tag = false;     // the rebuilt datagram's IP layer is already tagged
};

// Records the first error only: later damage is a consequence of the first.
inline bool fail(Ctx& c, DecodeError e) {
  if (c.pkt.error == DecodeError::kNone) c.pkt.error = e;
  return false;
}

inline void add_layer(Packet& p, LayerTag t) {
  if (p.layer_count < p.layers.size()) p.layers[p.layer_count++] = static_cast<uint8_t>(t);
}

// Clears everything an inner (tunnelled) packet will describe afresh.
void reset_inner(Packet& p);

// Starts decoding inside a tunnel of `kind`; false (and nothing changed) when
// tunnels are off or the depth bound is reached (the latter is an error).
bool enter_tunnel(Ctx& c, TunnelKind kind, uint32_t id);

// Link layers (link.cc, ethernet.cc).
void decode_ethernet(Ctx& c, ByteReader r);
void decode_sll(Ctx& c, ByteReader r);
void decode_sll2(Ctx& c, ByteReader r);
void decode_null(Ctx& c, ByteReader r, bool network_order);
void decode_raw(Ctx& c, ByteReader r, int version);  // version 0: by first nibble
// Dispatches on an EtherType (VLAN tags, MPLS, IPv4, IPv6, ARP).
void decode_ethertype(Ctx& c, uint16_t type, ByteReader r);
void decode_vlan(Ctx& c, ByteReader r);  // r starts at the first tag's TCI
void decode_mpls(Ctx& c, ByteReader r);

// Network layers.
void decode_ipv4(Ctx& c, ByteReader r);
void decode_ipv6(Ctx& c, ByteReader r);
void decode_arp(Ctx& c, ByteReader r);
// Transport dispatch by IP protocol number; r is bounded by the IP length.
// `wire_len` is the length the IP header announces for this payload.
void decode_ip_payload(Ctx& c, uint8_t proto, ByteReader r, uint32_t wire_len);

// An IP fragment (ip.cc). Returns true when the caller should go on decoding
// the fragment's own bytes as a first fragment (not reassembled); otherwise
// the fragment was held, rejected, or its rebuilt datagram already decoded.
bool decode_fragment(Ctx& c, const FragmentIn& f, bool complete_capture);

// Transport layers.
void decode_tcp(Ctx& c, ByteReader r, uint32_t wire_len);
void decode_udp(Ctx& c, ByteReader r, uint32_t wire_len);
void decode_icmp(Ctx& c, ByteReader r, uint32_t wire_len);
void decode_icmpv6(Ctx& c, ByteReader r, uint32_t wire_len);

// Tunnels.
void decode_gre(Ctx& c, ByteReader r, bool in_udp);
bool decode_vxlan(Ctx& c, ByteReader r);   // false: not VXLAN after all
bool decode_geneve(Ctx& c, ByteReader r);  // false: not Geneve after all
bool decode_teredo(Ctx& c, ByteReader r, uint32_t wire_len);  // false: not Teredo

}  // namespace tapir::decode::detail
