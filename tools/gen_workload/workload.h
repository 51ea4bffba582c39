// A deterministic mixed-traffic workload: many interleaved sessions (TCP with
// handshakes and FIN/RST teardown, HTTP/1.1, TLS, DNS over UDP and TCP, UDP,
// NTP, IPv4 fragments, ARP, ICMP/ICMPv6 echo, errors and neighbour discovery),
// some over IPv6 and some VLAN-tagged. The same options always give the same
// frames, byte for byte.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tapir::workload {

struct Options {
  uint64_t packets = 100000;
  uint64_t seed = 1;
  // Sessions in progress at once (how much traffic is interleaved).
  uint32_t flows = 256;
  // Capture time of the first frame, in microseconds since the epoch.
  uint64_t start_us = 1704067200ull * 1000000;  // 2024-01-01T00:00:00Z
};

// What a frame carries, as a dissector would name it. A frame of a TCP stream
// is tagged only if it completes an application message (as tshark shows the
// protocol on the segment that completes reassembly).
namespace tag {
inline constexpr uint16_t kDns = 1, kTls = 2, kHttp = 4, kArp = 8, kIcmp = 16, kIpv6 = 32,
                          kVlan = 64, kFragment = 128, kTcp = 256, kUdp = 512, kNtp = 1024;
}

struct Frame {
  uint64_t ts_us = 0;
  std::vector<uint8_t> bytes;
  uint16_t tags = 0;
};

// Totals of what was generated.
struct Counts {
  uint64_t packets = 0, bytes = 0;
  uint64_t dns = 0, tls = 0, http = 0, arp = 0, icmp = 0, ipv6 = 0, vlan = 0, fragments = 0,
           tcp = 0, udp = 0, ntp = 0;
  // Sessions by kind.
  uint64_t tcp_flows = 0, udp_flows = 0, dns_transactions = 0, tls_handshakes = 0,
           http_transactions = 0, icmp_echo_pairs = 0, sessions = 0;
  // key<TAB>value lines.
  std::string to_tsv() const;
};

class Generator {
 public:
  explicit Generator(const Options& options);
  ~Generator();
  // The next frame in time order; false after `packets` frames.
  bool next(Frame& out);
  const Counts& counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes a classic pcap (microsecond timestamps, Ethernet) of the workload.
// Returns an empty string or an error message.
// With `frame_tags`, also writes one line per frame: its number (from 1) and
// the tag bits (see `tag`) in decimal, for comparing frame by frame with a dissector.
std::string write_pcap(const Options& options, const std::string& path, Counts* counts,
                       const std::string& frame_tags = {});

}  // namespace tapir::workload
