// Builds well-formed Ethernet frames (optional 802.1Q tag, ARP, IPv4 with
// fragments, IPv6, TCP, UDP, ICMP, ICMPv6) with correct lengths and checksums.
// Used only to make test and benchmark workloads, never on a capture path, so
// clarity wins over speed here.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace tapir::workload {

using Mac = std::array<uint8_t, 6>;

// An IPv4 (4 bytes used) or IPv6 address.
struct Addr {
  bool v6 = false;
  std::array<uint8_t, 16> b{};
  static Addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
  static Addr v6_from(std::span<const uint8_t, 16> bytes);
  size_t size() const { return v6 ? 16 : 4; }
};

// Link layer of one direction of a conversation.
struct Link {
  Mac src{};
  Mac dst{};
  uint16_t vlan = 0;  // 0 = untagged
};

struct IpParams {
  Addr src;
  Addr dst;
  uint8_t ttl = 64;
  uint16_t ip_id = 0;    // IPv4 only
  bool dont_fragment = true;
};

namespace tcpflag {
inline constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}

struct TcpParams {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;
  // SYN options: MSS, SACK permitted, window scale (zero = none).
  uint16_t mss = 0;
  uint8_t wscale = 0;
};

// Internet checksum (RFC 1071) folded from a running sum.
uint32_t sum16(std::span<const uint8_t> data, uint32_t acc = 0);
uint16_t fold(uint32_t acc);

// Appends the Ethernet header (and VLAN tag) for `ether_type`.
void put_eth(std::vector<uint8_t>& f, const Link& l, uint16_t ether_type);

// Whole frames.
std::vector<uint8_t> arp_frame(const Link& l, uint16_t op, const Mac& sha, const Addr& spa,
                               const Mac& tha, const Addr& tpa);
std::vector<uint8_t> tcp_frame(const Link& l, const IpParams& ip, const TcpParams& t,
                               std::span<const uint8_t> payload);
std::vector<uint8_t> udp_frame(const Link& l, const IpParams& ip, uint16_t sport, uint16_t dport,
                               std::span<const uint8_t> payload);
// ICMP (IPv4) or ICMPv6 (IPv6) message: type, code, 4-byte rest-of-header, body.
std::vector<uint8_t> icmp_frame(const Link& l, const IpParams& ip, uint8_t type, uint8_t code,
                                uint32_t rest, std::span<const uint8_t> body);

// The IP packet (no link layer) of a UDP datagram, for quoting in ICMP errors
// and for fragmenting.
std::vector<uint8_t> udp_ip_packet(const IpParams& ip, uint16_t sport, uint16_t dport,
                                   std::span<const uint8_t> payload);
// Splits an IPv4 packet into frames whose IP packets are at most `mtu` bytes.
std::vector<std::vector<uint8_t>> ipv4_fragments(const Link& l, std::span<const uint8_t> packet,
                                                 size_t mtu);

}  // namespace tapir::workload
