// Synthetic decoded packets for flow and reassembly unit tests: the fields
// the flow table and reassembler read, set directly (no wire bytes needed).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "common/ip.h"
#include "decode/packet.h"

namespace tapir::flow::testing {

inline IpAddr ip(const std::string& text) {
  IpAddr a;
  if (!IpAddr::parse(text, a)) throw std::runtime_error("bad address in test: " + text);
  return a;
}

struct Synth {
  decode::Packet p;

  static Synth tcp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                   uint8_t flags, TimeNs ts) {
    Synth s;
    s.p.ts = ts;
    s.p.src_ip = ip(src);
    s.p.dst_ip = ip(dst);
    s.p.l3 = s.p.src_ip.version == 4 ? decode::L3::kIpv4 : decode::L3::kIpv6;
    s.p.ip_proto = decode::ipproto::kTcp;
    s.p.src_port = sport;
    s.p.dst_port = dport;
    s.p.tcp_flags = flags;
    s.p.ttl = 64;
    s.set_len(0);
    return s;
  }
  static Synth udp(const std::string& src, uint16_t sport, const std::string& dst, uint16_t dport,
                   TimeNs ts, uint32_t payload = 0) {
    Synth s = tcp(src, sport, dst, dport, 0, ts);
    s.p.ip_proto = decode::ipproto::kUdp;
    s.set_len(payload);
    return s;
  }
  static Synth icmp(const std::string& src, const std::string& dst, uint8_t type, uint8_t code,
                    uint16_t id, TimeNs ts) {
    Synth s = tcp(src, 0, dst, 0, 0, ts);
    s.p.ip_proto = s.p.src_ip.version == 4 ? decode::ipproto::kIcmp : decode::ipproto::kIcmpv6;
    s.p.src_port = s.p.dst_port = 0;
    s.p.icmp.type = type;
    s.p.icmp.code = code;
    s.p.icmp.id = id;
    s.set_len(8);
    return s;
  }
  // Header lengths as a plain Ethernet + IPv4/IPv6 + TCP (20) or UDP (8) frame.
  void set_len(uint32_t payload) {
    const uint32_t l4 = p.ip_proto == decode::ipproto::kTcp ? 20 : 8;
    const uint32_t l3 = p.src_ip.version == 4 ? 20 : 40;
    p.payload_len = p.payload_wire_len = payload;
    p.ip_len = l3 + l4 + payload;
    p.caplen = p.wirelen = 14 + p.ip_len;
  }
  Synth& seq(uint32_t s, uint32_t a = 0) {
    p.tcp_seq = s;
    p.tcp_ack = a;
    return *this;
  }
  Synth& data(const std::vector<uint8_t>& bytes) {
    p.payload = bytes.data();
    set_len(static_cast<uint32_t>(bytes.size()));
    return *this;
  }
  Synth& data(const uint8_t* bytes, size_t n) {
    p.payload = bytes;
    set_len(static_cast<uint32_t>(n));
    return *this;
  }
  Synth& ttl(uint8_t t) {
    p.ttl = t;
    return *this;
  }
  Synth& mac(uint8_t last) {
    p.has_eth = true;
    p.eth_src = {2, 0, 0, 0, 0, last};
    return *this;
  }
};

}  // namespace tapir::flow::testing
