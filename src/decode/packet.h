// The decoder's output: a view over one captured frame (or one reassembled
// IP datagram). Nothing here owns packet bytes; pointers stay valid until the
// next call to Decoder::decode.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/ip.h"
#include "common/time.h"

namespace tapir::decode {

// Link-layer header types, numbered as LINKTYPE_* in the pcap specification.
enum class LinkType : uint16_t {
  kNull = 0,          // BSD loopback: 4-byte host-order address family
  kEthernet = 1,
  kRaw = 101,         // raw IPv4 or IPv6
  kLoop = 108,        // OpenBSD loopback: 4-byte network-order family
  kLinuxSll = 113,
  kIpv4 = 228,
  kIpv6 = 229,
  kLinuxSll2 = 276,
};

// One frame as handed over by a capture source.
struct RawFrame {
  TimeNs ts = 0;
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;   // bytes present in data
  uint32_t wirelen = 0;  // length on the wire
  LinkType link = LinkType::kEthernet;
};

// Why a frame (or part of it) could not be decoded. Counted per reason; the
// names are shown in summaries and metrics.
enum class DecodeError : uint8_t {
  kNone = 0,
  kUnsupportedLinkType,
  kTruncatedLink,       // link-layer header cut short
  kTruncatedVlan,
  kTooManyVlans,
  kTruncatedMpls,
  kTooManyMpls,
  kTruncatedIpv4,
  kBadIpv4Version,
  kBadIpv4HeaderLen,    // IHL < 5 or beyond the captured bytes
  kBadIpv4TotalLen,     // total length shorter than the header
  kTruncatedIpv6,
  kBadIpv6Version,
  kTruncatedIpv6Ext,
  kTooManyIpv6Ext,
  kBadFragment,         // offsets/lengths that cannot be right
  kFragmentOverlap,     // overlapping fragments with different data
  kFragmentLimit,       // reassembly table or datagram size bound hit
  kTruncatedTcp,
  kBadTcpHeaderLen,
  kTruncatedUdp,
  kBadUdpLength,
  kTruncatedIcmp,
  kTruncatedArp,
  kBadArp,
  kTruncatedGre,
  kUnsupportedGre,
  kTruncatedVxlan,
  kTruncatedGeneve,     // Geneve header or its options cut short
  kTruncatedErspan,     // ERSPAN header (or its platform subheader) cut short
  kBadErspan,           // ERSPAN version not the one its GRE type announces, or a frame type other than Ethernet/IP
  kTooManyTunnels,
  kCapLenExceedsWire,   // caplen > wirelen or impossible lengths in the capture
  kCount
};

std::string_view decode_error_name(DecodeError e);

// Known layer-3 payload kinds.
enum class L3 : uint8_t { kNone, kIpv4, kIpv6, kArp, kOther };

// Transport protocols we decode (values are IP protocol numbers).
namespace ipproto {
constexpr uint8_t kIcmp = 1;
constexpr uint8_t kIpIp = 4;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kIpv6 = 41;
constexpr uint8_t kGre = 47;
constexpr uint8_t kIcmpv6 = 58;
constexpr uint8_t kSctp = 132;
}  // namespace ipproto

namespace tcpflag {
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kRst = 0x04;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;
constexpr uint8_t kUrg = 0x20;
constexpr uint8_t kEce = 0x40;
constexpr uint8_t kCwr = 0x80;
}  // namespace tcpflag

// Encapsulation kinds; numbered as tapir.v1.TunnelType.
enum class TunnelKind : uint8_t {
  kNone = 0, kGre = 1, kVxlan = 2, kTeredo = 3, kIpInIp = 4, kGreInUdp = 5, kGeneve = 6, kErspan = 7
};

// The outermost tunnel removed to reach the inner packet.
struct TunnelInfo {
  TunnelKind kind = TunnelKind::kNone;
  IpAddr outer_src;
  IpAddr outer_dst;
  uint32_t id = 0;     // VNI, GRE key or ERSPAN session id
  uint8_t depth = 0;   // tunnel layers removed
  // The outer transport that carried the tunnel (UDP 4789 for VXLAN, 47 for
  // GRE ...): with the outer addresses, the 5-tuple of the tunnel's own flow.
  uint8_t outer_proto = 0;
  uint16_t outer_sport = 0;
  uint16_t outer_dport = 0;
};

// One encapsulation level outside the innermost packet: the IP (and UDP)
// header that carried a tunnel, kept so that the tunnel's own transport (the
// underlay flow: UDP 4789 for VXLAN, UDP 3544 for Teredo, IP protocol 47 for
// GRE) can be counted as a flow of its own. Outermost first.
struct OuterLayer {
  IpAddr src_ip;
  IpAddr dst_ip;
  uint32_t ip_len = 0;            // as Packet::ip_len, for this level's IP header
  uint32_t payload_wire_len = 0;  // UDP payload, or the IP payload for GRE / IP-in-IP
  uint16_t src_port = 0;          // UDP ports; 0 for GRE and IP-in-IP
  uint16_t dst_port = 0;
  uint8_t ip_proto = 0;
  uint8_t ttl = 0;
  uint8_t vlan_count = 0;         // VLAN tags in front of this level (Packet::vlans, outermost first)
  TunnelKind kind = TunnelKind::kNone;  // the tunnel this level carried
};
// Levels kept in Packet::outer; deeper nesting is decoded, but its middle
// levels are not counted as flows. Four is DecoderConfig::max_tunnel_depth's default.
constexpr int kMaxOuterLayers = 4;

constexpr int kMaxVlans = 8;       // 802.1Q/802.1ad tags kept; more is an error
constexpr int kMaxMplsLabels = 8;  // labels walked before giving up

struct ArpInfo {
  uint16_t hw_type = 0;
  uint16_t proto_type = 0;
  uint16_t opcode = 0;
  uint8_t hw_len = 0;
  uint8_t proto_len = 0;
  bool has_macs = false;  // the MACs below were read (6-byte Ethernet/IEEE 802 addresses)
  MacAddr sender_mac{};
  MacAddr target_mac{};
  IpAddr sender_ip;
  IpAddr target_ip;
};

struct IcmpInfo {
  uint8_t type = 0;
  uint8_t code = 0;
  uint16_t id = 0;   // echo identifier (echo types only)
  uint16_t seq = 0;  // echo sequence (echo types only)
  // For error messages: the start of the quoted (offending) IP packet.
  const uint8_t* quoted = nullptr;
  uint32_t quoted_len = 0;
};

// A decoded packet. The innermost IP/transport headers are described; outer
// layers (tunnels) are summarised in `tunnel`.
struct Packet {
  TimeNs ts = 0;
  uint32_t caplen = 0;
  uint32_t wirelen = 0;
  const uint8_t* frame = nullptr;  // the captured frame (outermost)

  // Layer 2 (outermost Ethernet, if any).
  bool has_eth = false;
  MacAddr eth_src{};
  MacAddr eth_dst{};
  uint16_t ether_type = 0;  // innermost EtherType (0x0800, 0x86dd, 0x0806 ...)
  uint8_t vlan_count = 0;
  std::array<uint16_t, kMaxVlans> vlans{};  // outermost first
  uint8_t mpls_count = 0;

  // Tunnel summary.
  TunnelInfo tunnel;
  // The headers that carried each tunnel, outermost first (outer_count of them).
  std::array<OuterLayer, kMaxOuterLayers> outer{};
  uint8_t outer_count = 0;

  // Layer 3 (innermost).
  L3 l3 = L3::kNone;
  IpAddr src_ip;
  IpAddr dst_ip;
  uint8_t ip_proto = 0;     // innermost transport protocol after extension headers
  uint8_t ttl = 0;          // TTL or hop limit
  uint16_t ip_id = 0;       // IPv4 identification
  uint32_t ip_len = 0;      // IP length per the header (IPv4 total length; IPv6 payload length + 40)
  const uint8_t* l3_data = nullptr;  // innermost IP header start
  bool reassembled = false; // this is a datagram rebuilt from fragments
  bool is_fragment = false; // a non-first fragment that was not reassembled

  // Layer 4.
  uint16_t src_port = 0;
  uint16_t dst_port = 0;
  uint8_t tcp_flags = 0;
  uint32_t tcp_seq = 0;
  uint32_t tcp_ack = 0;
  uint16_t tcp_window = 0;
  IcmpInfo icmp;
  ArpInfo arp;

  // Transport payload (TCP/UDP data, ICMP body). Bounded by both the captured
  // bytes and the lengths the headers announce.
  const uint8_t* payload = nullptr;
  uint32_t payload_len = 0;
  // Payload length the headers announce (may exceed payload_len when truncated by snaplen).
  uint32_t payload_wire_len = 0;

  // Decoding stopped early at this error; fields decoded before it are valid.
  DecodeError error = DecodeError::kNone;

  // Layers decoded, outermost first, as a compact list of tags.
  std::array<uint8_t, 24> layers{};
  uint8_t layer_count = 0;

  bool is_ip() const { return l3 == L3::kIpv4 || l3 == L3::kIpv6; }
  bool is_tcp() const { return is_ip() && ip_proto == ipproto::kTcp && error == DecodeError::kNone; }
  bool is_udp() const { return is_ip() && ip_proto == ipproto::kUdp && error == DecodeError::kNone; }
  int ip_version() const { return l3 == L3::kIpv4 ? 4 : l3 == L3::kIpv6 ? 6 : 0; }
};

// Layer tags recorded in Packet::layers.
enum class LayerTag : uint8_t {
  kEth = 1, kVlan, kMpls, kSll, kSll2, kNull, kIpv4, kIpv6, kIpv6Ext, kFrag, kTcp, kUdp,
  kIcmp, kIcmpv6, kArp, kGre, kVxlan, kTeredo, kOther, kGeneve, kErspan
};
std::string_view layer_tag_name(LayerTag t);

// The packet of encapsulation level `level` (< p.outer_count), as the flow
// table reads packets: its IP and UDP header, the frame's link layer and
// length, and for a level inside another tunnel, that outermost tunnel.
// `out` is overwritten; nothing is allocated.
void outer_packet(const Packet& p, int level, Packet& out);

// Short name of a tunnel kind ("vxlan", "gre" ...); "" for none.
std::string_view tunnel_kind_name(TunnelKind k);

}  // namespace tapir::decode
