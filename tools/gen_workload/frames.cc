#include "frames.h"

#include <algorithm>
#include <stdexcept>

namespace tapir::workload {
namespace {

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherArp = 0x0806;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58;
constexpr size_t kIpv4HeaderLen = 20;
constexpr size_t kIpv6HeaderLen = 40;

void put16(std::vector<uint8_t>& f, uint16_t v) {
  f.push_back(static_cast<uint8_t>(v >> 8));
  f.push_back(static_cast<uint8_t>(v));
}
void put32(std::vector<uint8_t>& f, uint32_t v) {
  put16(f, static_cast<uint16_t>(v >> 16));
  put16(f, static_cast<uint16_t>(v));
}
void set16(std::vector<uint8_t>& f, size_t at, uint16_t v) {
  f[at] = static_cast<uint8_t>(v >> 8);
  f[at + 1] = static_cast<uint8_t>(v);
}
void put_addr(std::vector<uint8_t>& f, const Addr& a) {
  f.insert(f.end(), a.b.begin(), a.b.begin() + static_cast<long>(a.size()));
}

// Sum of the IPv4/IPv6 pseudo header for an upper-layer checksum.
uint32_t pseudo_sum(const IpParams& ip, uint8_t proto, size_t len) {
  uint32_t acc = sum16({ip.src.b.data(), ip.src.size()});
  acc = sum16({ip.dst.b.data(), ip.dst.size()}, acc);
  acc += proto;
  acc += static_cast<uint32_t>(len >> 16);
  acc += static_cast<uint32_t>(len & 0xffff);
  return acc;
}

// Appends an IP header for an upper-layer message of `len` bytes; returns its offset.
size_t put_ip(std::vector<uint8_t>& f, const IpParams& ip, uint8_t proto, size_t len) {
  size_t at = f.size();
  if (!ip.src.v6) {
    f.push_back(0x45);
    f.push_back(0);
    put16(f, static_cast<uint16_t>(kIpv4HeaderLen + len));
    put16(f, ip.ip_id);
    put16(f, ip.dont_fragment ? 0x4000 : 0);
    f.push_back(ip.ttl);
    f.push_back(proto);
    put16(f, 0);
    put_addr(f, ip.src);
    put_addr(f, ip.dst);
    set16(f, at + 10, fold(sum16({f.data() + at, kIpv4HeaderLen})));
  } else {
    put32(f, 0x60000000u);
    put16(f, static_cast<uint16_t>(len));
    f.push_back(proto);
    f.push_back(ip.ttl);
    put_addr(f, ip.src);
    put_addr(f, ip.dst);
  }
  return at;
}

// Writes the transport checksum at `csum_at` over the message starting at `l4`.
void finish_l4(std::vector<uint8_t>& f, const IpParams& ip, uint8_t proto, size_t l4,
               size_t csum_at, bool udp) {
  size_t len = f.size() - l4;
  uint16_t c = fold(sum16({f.data() + l4, len}, pseudo_sum(ip, proto, len)));
  if (udp && c == 0) c = 0xffff;  // RFC 768: zero means "no checksum"
  set16(f, csum_at, c);
}

}  // namespace

Addr Addr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  Addr r;
  r.b[0] = a;
  r.b[1] = b;
  r.b[2] = c;
  r.b[3] = d;
  return r;
}

Addr Addr::v6_from(std::span<const uint8_t, 16> bytes) {
  Addr r;
  r.v6 = true;
  std::copy(bytes.begin(), bytes.end(), r.b.begin());
  return r;
}

uint32_t sum16(std::span<const uint8_t> data, uint32_t acc) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) acc += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) acc += static_cast<uint32_t>(data[i] << 8);
  return acc;
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc);
}

void put_eth(std::vector<uint8_t>& f, const Link& l, uint16_t ether_type) {
  f.insert(f.end(), l.dst.begin(), l.dst.end());
  f.insert(f.end(), l.src.begin(), l.src.end());
  if (l.vlan != 0) {
    put16(f, kEtherVlan);
    put16(f, l.vlan & 0x0fff);
  }
  put16(f, ether_type);
}

std::vector<uint8_t> arp_frame(const Link& l, uint16_t op, const Mac& sha, const Addr& spa,
                               const Mac& tha, const Addr& tpa) {
  std::vector<uint8_t> f;
  put_eth(f, l, kEtherArp);
  put16(f, 1);       // Ethernet
  put16(f, 0x0800);  // IPv4
  f.push_back(6);
  f.push_back(4);
  put16(f, op);
  f.insert(f.end(), sha.begin(), sha.end());
  put_addr(f, spa);
  f.insert(f.end(), tha.begin(), tha.end());
  put_addr(f, tpa);
  // Pad to the 60-byte Ethernet minimum (without FCS), as NICs do.
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

std::vector<uint8_t> tcp_frame(const Link& l, const IpParams& ip, const TcpParams& t,
                               std::span<const uint8_t> payload) {
  std::vector<uint8_t> opts;
  if (t.mss != 0) {
    opts = {2, 4, static_cast<uint8_t>(t.mss >> 8), static_cast<uint8_t>(t.mss)};
    opts.insert(opts.end(), {1, 1, 4, 2});                 // NOP NOP SACK-permitted
    if (t.wscale != 0) opts.insert(opts.end(), {1, 3, 3, t.wscale});  // NOP WS
  }
  size_t hdr = 20 + opts.size();
  size_t len = hdr + payload.size();
  std::vector<uint8_t> f;
  f.reserve(18 + kIpv6HeaderLen + len);
  put_eth(f, l, ip.src.v6 ? kEtherIpv6 : kEtherIpv4);
  put_ip(f, ip, kProtoTcp, len);
  size_t l4 = f.size();
  put16(f, t.sport);
  put16(f, t.dport);
  put32(f, t.seq);
  put32(f, t.ack);
  f.push_back(static_cast<uint8_t>((hdr / 4) << 4));
  f.push_back(t.flags);
  put16(f, t.window);
  put16(f, 0);
  put16(f, 0);
  f.insert(f.end(), opts.begin(), opts.end());
  f.insert(f.end(), payload.begin(), payload.end());
  finish_l4(f, ip, kProtoTcp, l4, l4 + 16, false);
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

std::vector<uint8_t> udp_ip_packet(const IpParams& ip, uint16_t sport, uint16_t dport,
                                   std::span<const uint8_t> payload) {
  size_t len = 8 + payload.size();
  std::vector<uint8_t> f;
  put_ip(f, ip, kProtoUdp, len);
  size_t l4 = f.size();
  put16(f, sport);
  put16(f, dport);
  put16(f, static_cast<uint16_t>(len));
  put16(f, 0);
  f.insert(f.end(), payload.begin(), payload.end());
  finish_l4(f, ip, kProtoUdp, l4, l4 + 6, true);
  return f;
}

std::vector<uint8_t> udp_frame(const Link& l, const IpParams& ip, uint16_t sport, uint16_t dport,
                               std::span<const uint8_t> payload) {
  std::vector<uint8_t> f;
  put_eth(f, l, ip.src.v6 ? kEtherIpv6 : kEtherIpv4);
  auto pkt = udp_ip_packet(ip, sport, dport, payload);
  f.insert(f.end(), pkt.begin(), pkt.end());
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

std::vector<uint8_t> icmp_frame(const Link& l, const IpParams& ip, uint8_t type, uint8_t code,
                                uint32_t rest, std::span<const uint8_t> body) {
  size_t len = 8 + body.size();
  std::vector<uint8_t> f;
  put_eth(f, l, ip.src.v6 ? kEtherIpv6 : kEtherIpv4);
  uint8_t proto = ip.src.v6 ? kProtoIcmpv6 : kProtoIcmp;
  put_ip(f, ip, proto, len);
  size_t l4 = f.size();
  f.push_back(type);
  f.push_back(code);
  put16(f, 0);
  put32(f, rest);
  f.insert(f.end(), body.begin(), body.end());
  if (ip.src.v6) {
    finish_l4(f, ip, proto, l4, l4 + 2, false);
  } else {
    set16(f, l4 + 2, fold(sum16({f.data() + l4, len})));  // ICMPv4: no pseudo header
  }
  if (f.size() < 60) f.resize(60, 0);
  return f;
}

std::vector<std::vector<uint8_t>> ipv4_fragments(const Link& l, std::span<const uint8_t> packet,
                                                 size_t mtu) {
  if (packet.size() < kIpv4HeaderLen || (packet[0] >> 4) != 4)
    throw std::invalid_argument("ipv4_fragments: not an IPv4 packet");
  // Fragment data is carried in multiples of 8 bytes except in the last one.
  size_t per = ((mtu - kIpv4HeaderLen) / 8) * 8;
  auto data = packet.subspan(kIpv4HeaderLen);
  std::vector<std::vector<uint8_t>> out;
  for (size_t off = 0; off < data.size(); off += per) {
    size_t n = std::min(per, data.size() - off);
    bool more = off + n < data.size();
    std::vector<uint8_t> f;
    put_eth(f, l, kEtherIpv4);
    size_t at = f.size();
    f.insert(f.end(), packet.begin(), packet.begin() + kIpv4HeaderLen);
    set16(f, at + 2, static_cast<uint16_t>(kIpv4HeaderLen + n));
    set16(f, at + 6, static_cast<uint16_t>((more ? 0x2000 : 0) | (off / 8)));
    set16(f, at + 10, 0);
    set16(f, at + 10, fold(sum16({f.data() + at, kIpv4HeaderLen})));
    f.insert(f.end(), data.begin() + static_cast<long>(off),
             data.begin() + static_cast<long>(off + n));
    if (f.size() < 60) f.resize(60, 0);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace tapir::workload
