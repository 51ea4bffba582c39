#include "workload.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <queue>
#include <string_view>

#include "frames.h"
#include "payloads.h"
#include "rng.h"

namespace tapir::workload {
namespace {

// Clients live on 10.1.0.0/16 behind one gateway; remote servers use the
// documentation ranges (RFC 5737, RFC 3849) so nothing here is routable.
constexpr uint32_t kClients = 2000;
constexpr uint32_t kServersPerNet = 60;
constexpr uint16_t kMss = 1460;
constexpr uint16_t kWindowScale = 7;
constexpr uint16_t kWindow = 501;  // scaled by 2^7: about 64 KB
// Port ranges with no Wireshark dissector registered (tshark 4.0 `-G decodes`),
// so that traffic without an application layer is shown as plain data and not
// mistaken for some industrial or tunnelling protocol.
constexpr uint16_t kEphemeralLo = 60002, kEphemeralHi = 65535;
constexpr uint16_t kTcpServiceLo = 50000, kTcpServiceHi = 54327;
constexpr uint16_t kUdpServiceLo = 37009, kUdpServiceHi = 41169;

uint16_t ephemeral(Rng& rng) { return static_cast<uint16_t>(rng.range(kEphemeralLo, kEphemeralHi)); }
constexpr size_t kIpv4Mtu = 1500;
// Sessions tagged with a VLAN use one of these ids.
constexpr uint16_t kVlans[] = {10, 20, 30};

const Mac kGatewayMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const Mac kResolverMac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x35};
const Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const Addr kGatewayIp = Addr::v4(10, 1, 0, 1);
const Addr kResolverIp = Addr::v4(10, 1, 0, 53);

Mac client_mac(uint32_t i) {
  return {0x02, 0x00, 0x0a, 0x01, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
}
Addr client_ip(uint32_t i) {
  return Addr::v4(10, 1, static_cast<uint8_t>(1 + i / 250), static_cast<uint8_t>(1 + i % 250));
}
Addr v6(uint16_t net, uint16_t host) {
  std::array<uint8_t, 16> b{0x20, 0x01, 0x0d, 0xb8, static_cast<uint8_t>(net >> 8),
                            static_cast<uint8_t>(net)};
  b[14] = static_cast<uint8_t>(host >> 8);
  b[15] = static_cast<uint8_t>(host);
  return Addr::v6_from(b);
}
Addr client_ip6(uint32_t i) { return v6(1, static_cast<uint16_t>(0x100 + i)); }
Addr server_ip(Rng& rng) {
  static constexpr uint8_t kNets[3][3] = {{192, 0, 2}, {198, 51, 100}, {203, 0, 113}};
  const uint8_t* n = kNets[rng.below(3)];
  return Addr::v4(n[0], n[1], n[2], static_cast<uint8_t>(1 + rng.below(kServersPerNet)));
}
Addr server_ip6(Rng& rng) { return v6(0xff, static_cast<uint16_t>(1 + rng.below(kServersPerNet))); }

struct Pkt {
  uint64_t ts;
  std::vector<uint8_t> bytes;
  uint16_t tags;
};

struct Session {
  std::vector<Pkt> pkts;
  size_t next = 0;
};

// The two ends of a conversation as seen from the capture point (next to the
// clients): client->server frames leave at once, replies arrive one RTT later.
struct Ends {
  Link c2s, s2c;
  IpParams cip, sip;  // IP headers of each direction
  uint16_t base_tags = 0;
};

class Builder {
 public:
  Builder(Rng& rng, Session& s, uint64_t t, Counts& counts)
      : rng_(rng), s_(s), t_(t), counts_(counts) {}

  // Picks a client and a server; `local_server` uses the resolver on the LAN.
  Ends ends(bool ipv6, bool local_server) {
    Ends e;
    uint32_t c = static_cast<uint32_t>(rng_.below(kClients));
    Mac cm = client_mac(c);
    Mac sm = local_server ? kResolverMac : kGatewayMac;
    uint16_t vlan = rng_.chance(10) ? kVlans[rng_.below(std::size(kVlans))] : 0;
    e.c2s = {cm, sm, vlan};
    e.s2c = {sm, cm, vlan};
    if (ipv6) {
      e.cip.src = client_ip6(c);
      e.cip.dst = local_server ? v6(1, 0x53) : server_ip6(rng_);
    } else {
      e.cip.src = client_ip(c);
      e.cip.dst = local_server ? kResolverIp : server_ip(rng_);
    }
    e.cip.ttl = 64;
    e.cip.ip_id = static_cast<uint16_t>(rng_.next());
    e.sip.src = e.cip.dst;
    e.sip.dst = e.cip.src;
    e.sip.ttl = local_server ? 64 : static_cast<uint8_t>(rng_.range(44, 58));
    e.sip.ip_id = static_cast<uint16_t>(rng_.next());
    e.base_tags = static_cast<uint16_t>((ipv6 ? tag::kIpv6 : 0) | (vlan ? tag::kVlan : 0));
    return e;
  }

  void add(std::vector<uint8_t> bytes, uint16_t tags) {
    s_.pkts.push_back({t_, std::move(bytes), tags});
  }
  void wait(uint64_t lo, uint64_t hi) { t_ += rng_.range(lo, hi); }
  uint64_t now() const { return t_; }
  Rng& rng() { return rng_; }
  Counts& counts() { return counts_; }

 private:
  Rng& rng_;
  Session& s_;
  uint64_t t_;
  Counts& counts_;
};

// One TCP connection with consistent sequence numbers, window scaling and ACKs.
class Tcp {
 public:
  Tcp(Builder& b, const Ends& e, uint16_t server_port)
      : b_(b), e_(e), cport_(ephemeral(b.rng())),
        sport_(server_port), rtt_(b.rng().range(300, 80000)),
        cseq_(static_cast<uint32_t>(b.rng().next())), sseq_(static_cast<uint32_t>(b.rng().next())) {
    b_.counts().tcp_flows++;
  }

  uint64_t rtt() const { return rtt_; }

  // SYN, SYN-ACK, ACK. False (and a RST-ACK sent) when the port is closed.
  bool handshake(bool refused = false) {
    seg(true, tcpflag::kSyn, {}, 0, true);
    cseq_++;
    b_.wait(rtt_, rtt_ + rtt_ / 8);
    if (refused) {
      seg(false, tcpflag::kRst | tcpflag::kAck, {}, 0, false);
      return false;
    }
    seg(false, tcpflag::kSyn | tcpflag::kAck, {}, 0, true);
    sseq_++;
    b_.wait(20, 200);
    seg(true, tcpflag::kAck, {}, 0, false);
    return true;
  }

  // Sends `data` from one side in MSS segments. A segment is tagged with
  // `app_tag` if an application message (ending at an offset in `ends`) is
  // completed by it, or, with `tag_starts`, if a message begins in it (tshark
  // names TLS on a segment holding a record header even when the record
  // needs more segments; HTTP only on the segment that completes a message).
  // The receiver acknowledges every second segment, and the last one when
  // `final_ack`.
  void send(bool from_client, std::span<const uint8_t> data, const std::vector<size_t>& ends,
            uint16_t app_tag, bool final_ack, bool tag_starts = false) {
    if (!from_client) b_.wait(rtt_ / 2, rtt_);  // request travels out and the reply back
    size_t unacked = 0;
    for (size_t off = 0; off < data.size(); off += kMss) {
      size_t n = std::min<size_t>(kMss, data.size() - off);
      bool completes = std::any_of(ends.begin(), ends.end(),
                                   [&](size_t e) { return e > off && e <= off + n; });
      if (tag_starts && !ends.empty()) {
        completes = completes || off == 0 ||
                    std::any_of(ends.begin(), ends.end() - 1,
                                [&](size_t e) { return e >= off && e < off + n; });
      }
      bool last = off + n == data.size();
      seg(from_client, tcpflag::kAck | (last ? tcpflag::kPsh : 0), data.subspan(off, n),
          completes ? app_tag : 0, false);
      (from_client ? cseq_ : sseq_) += static_cast<uint32_t>(n);
      ++unacked;
      if (unacked == 2 || (last && final_ack)) {
        b_.wait(from_client ? rtt_ / 2 : 30, from_client ? rtt_ : 400);
        seg(!from_client, tcpflag::kAck, {}, 0, false);
        unacked = 0;
      } else {
        b_.wait(5, 60);
      }
    }
    if (unacked != 0 && final_ack) {
      b_.wait(30, 400);
      seg(!from_client, tcpflag::kAck, {}, 0, false);
    }
  }

  // FIN from one side, FIN from the other, last ACK.
  void close_fin(bool client_first) {
    b_.wait(50, 5000);
    seg(client_first, tcpflag::kFin | tcpflag::kAck, {}, 0, false);
    (client_first ? cseq_ : sseq_)++;
    b_.wait(client_first ? rtt_ : 50, client_first ? rtt_ + 500 : 2000);
    seg(!client_first, tcpflag::kFin | tcpflag::kAck, {}, 0, false);
    (client_first ? sseq_ : cseq_)++;
    b_.wait(client_first ? 20 : rtt_, client_first ? 300 : rtt_ + 500);
    seg(client_first, tcpflag::kAck, {}, 0, false);
  }

  void close_rst(bool from_client) {
    b_.wait(50, 5000);
    seg(from_client, tcpflag::kRst | tcpflag::kAck, {}, 0, false);
  }

 private:
  void seg(bool from_client, uint8_t flags, std::span<const uint8_t> payload, uint16_t app_tag,
           bool syn_options) {
    TcpParams t;
    t.sport = from_client ? cport_ : sport_;
    t.dport = from_client ? sport_ : cport_;
    t.seq = from_client ? cseq_ : sseq_;
    bool ack = flags & tcpflag::kAck;
    t.ack = ack ? (from_client ? sseq_ : cseq_) : 0;
    t.flags = flags;
    t.window = syn_options ? 64240 : ((flags & tcpflag::kRst) ? 0 : kWindow);
    if (syn_options) {
      t.mss = e_.cip.src.v6 ? kMss - 20 : kMss;
      t.wscale = kWindowScale;
    }
    IpParams& ip = from_client ? e_.cip : e_.sip;
    b_.add(tcp_frame(from_client ? e_.c2s : e_.s2c, ip, t, payload),
           static_cast<uint16_t>(e_.base_tags | tag::kTcp | app_tag));
    ip.ip_id++;
  }

  Builder& b_;
  Ends e_;
  uint16_t cport_, sport_;
  uint64_t rtt_;
  uint32_t cseq_, sseq_;
};

std::vector<uint8_t> as_bytes(std::string_view s) { return {s.begin(), s.end()}; }

// --- sessions -------------------------------------------------------------------

void dns_udp(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, true);
  auto ex = make_dns(b.rng());
  uint16_t port = ephemeral(b.rng());
  uint16_t t = static_cast<uint16_t>(e.base_tags | tag::kUdp | tag::kDns);
  b.add(udp_frame(e.c2s, e.cip, port, 53, ex.query), t);
  b.wait(150, 60000);
  b.add(udp_frame(e.s2c, e.sip, 53, port, ex.response), t);
  b.counts().udp_flows++;
  b.counts().dns_transactions++;
}

std::vector<uint8_t> with_length_prefix(const std::vector<uint8_t>& m) {
  std::vector<uint8_t> v(2 + m.size());
  v[0] = static_cast<uint8_t>(m.size() >> 8);
  v[1] = static_cast<uint8_t>(m.size());
  std::copy(m.begin(), m.end(), v.begin() + 2);
  return v;
}

void dns_tcp(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, true);
  Tcp c(b, e, 53);
  c.handshake();
  size_t n = b.rng().range(1, 2);
  for (size_t i = 0; i < n; ++i) {
    auto ex = make_dns(b.rng());
    auto q = with_length_prefix(ex.query);
    auto r = with_length_prefix(ex.response);
    c.send(true, q, {q.size()}, tag::kDns, false);
    c.send(false, r, {r.size()}, tag::kDns, true);
    b.counts().dns_transactions++;
  }
  c.close_fin(true);
}

void http(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  Tcp c(b, e, b.rng().chance(80) ? 80 : 8080);
  c.handshake();
  std::string host = pick_host(b.rng());
  size_t n = b.rng().range(1, 4);
  for (size_t i = 0; i < n; ++i) {
    bool last = i + 1 == n;
    auto ex = make_http(b.rng(), host, last);
    auto req = as_bytes(ex.request);
    auto resp = as_bytes(ex.response);
    c.send(true, req, {req.size()}, tag::kHttp, false);
    c.send(false, resp, {resp.size()}, tag::kHttp, true);
    b.counts().http_transactions++;
    if (!last) b.wait(1000, 200000);
  }
  if (b.rng().chance(85)) {
    c.close_fin(false);
  } else {
    c.close_rst(true);
  }
}

void tls(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  Tcp c(b, e, 443);
  c.handshake();
  auto h = make_tls(b.rng());
  c.send(true, h.client_hello.bytes, h.client_hello.ends, tag::kTls, false, true);
  c.send(false, h.server_flight.bytes, h.server_flight.ends, tag::kTls, false, true);
  b.wait(100, 2000);
  c.send(true, h.client_finish.bytes, h.client_finish.ends, tag::kTls, false, true);
  b.counts().tls_handshakes++;
  size_t n = b.rng().range(1, 4);
  for (size_t i = 0; i < n; ++i) {
    auto req = make_tls_appdata(b.rng(), b.rng().range(80, 900), 4096);
    c.send(true, req.bytes, req.ends, tag::kTls, false, true);
    size_t resp_len = b.rng().chance(20) ? b.rng().range(5000, 60000) : b.rng().range(200, 3000);
    auto resp = make_tls_appdata(b.rng(), resp_len, 8192);
    c.send(false, resp.bytes, resp.ends, tag::kTls, true, true);
    b.wait(1000, 300000);
  }
  if (b.rng().chance(90)) {
    c.close_fin(b.rng().chance(50));
  } else {
    c.close_rst(true);
  }
}

// Bulk transfer on an unassigned port: data both ways, no application layer.
void bulk(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  Tcp c(b, e, static_cast<uint16_t>(b.rng().range(kTcpServiceLo, kTcpServiceHi)));
  c.handshake();
  size_t rounds = b.rng().range(1, 3);
  for (size_t i = 0; i < rounds; ++i) {
    auto up = b.rng().text(b.rng().range(10, 3000));
    c.send(true, up, {}, 0, false);
    auto down = b.rng().text(b.rng().range(100, 40000));
    c.send(false, down, {}, 0, true);
  }
  if (b.rng().chance(70)) {
    c.close_fin(b.rng().chance(60));
  } else {
    c.close_rst(b.rng().chance(50));
  }
}

void refused(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  Tcp c(b, e, static_cast<uint16_t>(b.rng().range(kTcpServiceLo, kTcpServiceHi)));
  c.handshake(true);
}

// Datagram exchanges on an unassigned port.
void udp(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  uint16_t cport = ephemeral(b.rng());
  uint16_t sport = static_cast<uint16_t>(b.rng().range(kUdpServiceLo, kUdpServiceHi));
  size_t n = b.rng().range(1, 6);
  uint16_t t = static_cast<uint16_t>(e.base_tags | tag::kUdp);
  for (size_t i = 0; i < n; ++i) {
    b.add(udp_frame(e.c2s, e.cip, cport, sport, b.rng().text(b.rng().range(20, 1200))), t);
    e.cip.ip_id++;
    b.wait(200, 50000);
    b.add(udp_frame(e.s2c, e.sip, sport, cport, b.rng().text(b.rng().range(20, 1400))), t);
    e.sip.ip_id++;
    b.wait(1000, 100000);
  }
  b.counts().udp_flows++;
}

std::vector<uint8_t> ntp_packet(Rng& rng, uint8_t mode, uint64_t t_us) {
  std::vector<uint8_t> p(48, 0);
  p[0] = static_cast<uint8_t>((4 << 3) | mode);  // version 4
  if (mode == 4) {
    p[1] = 2;     // stratum
    p[2] = 6;     // poll
    p[3] = 0xe9;  // precision 2^-23
    p[12] = 192;  // reference id: an upstream server
    p[13] = 0;
    p[14] = 2;
    p[15] = 123;
  }
  // Transmit timestamp: NTP era 0 seconds + fraction.
  uint64_t secs = t_us / 1000000 + 2208988800ull;
  uint64_t frac = ((t_us % 1000000) << 32) / 1000000;
  for (int i = 0; i < 4; ++i) p[40 + i] = static_cast<uint8_t>(secs >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[44 + i] = static_cast<uint8_t>(frac >> (24 - 8 * i));
  if (mode == 4) {
    std::copy(p.begin() + 40, p.begin() + 48, p.begin() + 32);  // receive = transmit
    std::copy(p.begin() + 40, p.begin() + 48, p.begin() + 16);  // reference
  }
  (void)rng;
  return p;
}

void ntp(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  uint16_t t = static_cast<uint16_t>(e.base_tags | tag::kUdp | tag::kNtp);
  b.add(udp_frame(e.c2s, e.cip, 123, 123, ntp_packet(b.rng(), 3, b.now())), t);
  b.wait(2000, 60000);
  b.add(udp_frame(e.s2c, e.sip, 123, 123, ntp_packet(b.rng(), 4, b.now())), t);
  b.counts().udp_flows++;
}

// A large UDP datagram split into IPv4 fragments (as a tunnel or a big DNS answer would be).
void fragmented(Builder& b) {
  Ends e = b.ends(false, false);
  e.cip.dont_fragment = false;
  // One draw per statement: the order in which function arguments are
  // evaluated is unspecified, and the bytes must not depend on the compiler.
  uint16_t sport = ephemeral(b.rng());
  auto dport = static_cast<uint16_t>(b.rng().range(kUdpServiceLo, kUdpServiceHi));
  auto payload = b.rng().text(b.rng().range(1600, 4400));
  auto pkt = udp_ip_packet(e.cip, sport, dport, payload);
  auto frags = ipv4_fragments(e.c2s, pkt, kIpv4Mtu);
  for (size_t i = 0; i < frags.size(); ++i) {
    bool last = i + 1 == frags.size();
    b.add(std::move(frags[i]), static_cast<uint16_t>(e.base_tags | tag::kFragment |
                                                     (last ? tag::kUdp : 0)));
    b.wait(2, 30);
  }
  b.counts().udp_flows++;
}

void arp(Builder& b) {
  uint32_t c = static_cast<uint32_t>(b.rng().below(kClients));
  uint16_t vlan = b.rng().chance(10) ? kVlans[b.rng().below(std::size(kVlans))] : 0;
  uint16_t t = static_cast<uint16_t>(tag::kArp | (vlan ? tag::kVlan : 0));
  Mac cm = client_mac(c);
  Addr cip = client_ip(c);
  if (b.rng().chance(15)) {  // gratuitous announcement
    b.add(arp_frame({cm, kBroadcast, vlan}, 1, cm, cip, Mac{}, cip), t);
    return;
  }
  bool to_gateway = b.rng().chance(60);
  uint32_t other = static_cast<uint32_t>(b.rng().below(kClients));
  Mac tm = to_gateway ? kGatewayMac : client_mac(other);
  Addr tip = to_gateway ? kGatewayIp : client_ip(other);
  b.add(arp_frame({cm, kBroadcast, vlan}, 1, cm, cip, Mac{}, tip), t);
  if (b.rng().chance(10)) return;  // nobody answered
  b.wait(50, 3000);
  b.add(arp_frame({tm, cm, vlan}, 2, tm, tip, cm, cip), t);
}

void echo(Builder& b, bool ipv6) {
  Ends e = b.ends(ipv6, false);
  uint16_t id = static_cast<uint16_t>(b.rng().next());
  size_t n = b.rng().range(1, 4);
  uint64_t rtt = b.rng().range(300, 90000);
  uint8_t req = ipv6 ? 128 : 8, rep = ipv6 ? 129 : 0;
  uint16_t t = static_cast<uint16_t>(e.base_tags | tag::kIcmp);
  for (size_t i = 0; i < n; ++i) {
    uint32_t rest = static_cast<uint32_t>(id) << 16 | static_cast<uint32_t>(i + 1);
    std::vector<uint8_t> body(56);
    for (size_t k = 0; k < body.size(); ++k) body[k] = static_cast<uint8_t>(k);
    b.add(icmp_frame(e.c2s, e.cip, req, 0, rest, body), t);
    e.cip.ip_id++;
    if (!b.rng().chance(5)) {  // lost sometimes
      b.wait(rtt, rtt + rtt / 10);
      b.add(icmp_frame(e.s2c, e.sip, rep, 0, rest, body), t);
      e.sip.ip_id++;
      b.counts().icmp_echo_pairs++;
    }
    b.wait(900000, 1000000);
  }
}

// A UDP probe answered by an ICMP error quoting it: port unreachable from the
// server, or time exceeded from the gateway for a TTL-1 probe.
void icmp_error(Builder& b) {
  Ends e = b.ends(false, false);
  bool ttl_expired = b.rng().chance(50);
  e.cip.ttl = ttl_expired ? 1 : 64;
  uint16_t dport = static_cast<uint16_t>(33434 + b.rng().below(30));
  uint16_t sport = ephemeral(b.rng());
  auto probe = udp_ip_packet(e.cip, sport, dport, std::vector<uint8_t>(32, 0x40));
  b.add(udp_frame(e.c2s, e.cip, sport, dport, std::vector<uint8_t>(32, 0x40)),
        static_cast<uint16_t>(e.base_tags | tag::kUdp));
  b.wait(ttl_expired ? 300 : 5000, ttl_expired ? 3000 : 80000);
  // RFC 792: the quote is the IP header plus the first 8 bytes of its data.
  std::vector<uint8_t> quote(probe.begin(), probe.begin() + 28);
  IpParams from = e.sip;
  if (ttl_expired) {
    from.src = kGatewayIp;
    from.ttl = 64;
  }
  from.dont_fragment = false;
  b.add(icmp_frame(e.s2c, from, ttl_expired ? 11 : 3, ttl_expired ? 0 : 3, 0, quote),
        static_cast<uint16_t>(e.base_tags | tag::kIcmp));
  b.counts().udp_flows++;
}

// IPv6 neighbour solicitation to the solicited-node address and its advertisement.
void neighbour(Builder& b) {
  uint32_t c = static_cast<uint32_t>(b.rng().below(kClients));
  uint32_t o = static_cast<uint32_t>(b.rng().below(kClients));
  Mac cm = client_mac(c), om = client_mac(o);
  Addr src = client_ip6(c), target = client_ip6(o);
  std::array<uint8_t, 16> sn{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0};
  sn[13] = target.b[13];
  sn[14] = target.b[14];
  sn[15] = target.b[15];
  Mac mcast = {0x33, 0x33, 0xff, sn[13], sn[14], sn[15]};
  IpParams ns;
  ns.src = src;
  ns.dst = Addr::v6_from(sn);
  ns.ttl = 255;  // RFC 4861 requires hop limit 255
  std::vector<uint8_t> body(target.b.begin(), target.b.end());
  body.insert(body.end(), {1, 1});  // source link-layer address option
  body.insert(body.end(), cm.begin(), cm.end());
  uint16_t t = tag::kIpv6 | tag::kIcmp;
  b.add(icmp_frame({cm, mcast, 0}, ns, 135, 0, 0, body), t);
  b.wait(50, 2000);
  IpParams na;
  na.src = target;
  na.dst = src;
  na.ttl = 255;
  std::vector<uint8_t> abody(target.b.begin(), target.b.end());
  abody.insert(abody.end(), {2, 1});  // target link-layer address option
  abody.insert(abody.end(), om.begin(), om.end());
  b.add(icmp_frame({om, cm, 0}, na, 136, 0, 0x60000000u, abody), t);  // Solicited, Override
}

enum class Kind {
  kDnsUdp, kDnsTcp, kHttp, kTls, kBulk, kRefused, kUdp, kNtp, kFragment, kArp, kEcho,
  kIcmpError, kNeighbour, kCount
};
// Relative session frequencies; TCP sessions are longer, so the packet mix is
// dominated by TLS/HTTP/bulk data as on a real edge link.
constexpr uint32_t kWeights[] = {30, 3, 12, 18, 5, 2, 8, 3, 2, 8, 5, 3, 2};
static_assert(std::size(kWeights) == static_cast<size_t>(Kind::kCount));

Kind pick_kind(Rng& rng) {
  uint32_t total = 0;
  for (auto w : kWeights) total += w;
  uint32_t r = static_cast<uint32_t>(rng.below(total));
  for (size_t i = 0; i < std::size(kWeights); ++i) {
    if (r < kWeights[i]) return static_cast<Kind>(i);
    r -= kWeights[i];
  }
  return Kind::kArp;
}

void build(Builder& b, Kind k) {
  bool ipv6 = b.rng().chance(20);
  switch (k) {
    case Kind::kDnsUdp: dns_udp(b, ipv6); break;
    case Kind::kDnsTcp: dns_tcp(b, ipv6); break;
    case Kind::kHttp: http(b, ipv6); break;
    case Kind::kTls: tls(b, ipv6); break;
    case Kind::kBulk: bulk(b, ipv6); break;
    case Kind::kRefused: refused(b, ipv6); break;
    case Kind::kUdp: udp(b, ipv6); break;
    case Kind::kNtp: ntp(b, ipv6); break;
    case Kind::kFragment: fragmented(b); break;
    case Kind::kArp: arp(b); break;
    case Kind::kEcho: echo(b, ipv6); break;
    case Kind::kIcmpError: icmp_error(b); break;
    case Kind::kNeighbour: neighbour(b); break;
    case Kind::kCount: break;
  }
}

}  // namespace

std::string Counts::to_tsv() const {
  std::string out;
  auto line = [&](const char* k, uint64_t v) {
    out += k;
    out += '\t';
    out += std::to_string(v);
    out += '\n';
  };
  line("packets", packets);
  line("bytes", bytes);
  line("dns_frames", dns);
  line("tls_frames", tls);
  line("http_frames", http);
  line("arp_frames", arp);
  line("icmp_frames", icmp);
  line("ntp_frames", ntp);
  line("tcp_frames", tcp);
  line("udp_frames", udp);
  line("ipv6_frames", ipv6);
  line("vlan_frames", vlan);
  line("fragment_frames", fragments);
  line("sessions", sessions);
  line("tcp_flows", tcp_flows);
  line("udp_flows", udp_flows);
  line("dns_transactions", dns_transactions);
  line("tls_handshakes", tls_handshakes);
  line("http_transactions", http_transactions);
  line("icmp_echo_pairs", icmp_echo_pairs);
  return out;
}

struct Generator::Impl {
  Options opt;
  Rng rng;
  Counts counts;
  // Built sessions waiting to be drained, by the time of their next frame.
  std::vector<Session> sessions;
  std::vector<size_t> free_slots;
  using Entry = std::tuple<uint64_t, uint64_t, size_t>;  // time, tie-breaker, slot
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  uint64_t planned = 0;  // frames in sessions built so far
  uint64_t emitted = 0;
  uint64_t order = 0;
  uint64_t clock;

  explicit Impl(const Options& o) : opt(o), rng(o.seed), clock(o.start_us) {
    for (uint32_t i = 0; i < std::max<uint32_t>(1, opt.flows); ++i) start_session(clock);
  }

  void start_session(uint64_t t) {
    if (planned >= opt.packets) return;
    Session s;
    Counts built;  // what this session holds; kept only if the session is
    Builder b(rng, s, t + rng.range(0, 3000), built);
    Kind k = pick_kind(rng);
    build(b, k);
    uint64_t left = opt.packets - planned;
    if (s.pkts.size() <= left) {
      counts.tcp_flows += built.tcp_flows;
      counts.udp_flows += built.udp_flows;
      counts.dns_transactions += built.dns_transactions;
      counts.tls_handshakes += built.tls_handshakes;
      counts.http_transactions += built.http_transactions;
      counts.icmp_echo_pairs += built.icmp_echo_pairs;
    } else {
      // The tail of the capture: fill exactly with one-frame gratuitous ARPs
      // rather than cutting a session short.
      s.pkts.clear();
      Builder fill(rng, s, t + rng.range(0, 3000), counts);
      while (s.pkts.size() < left) {
        Session one;
        Builder g(rng, one, fill.now(), counts);
        arp(g);
        for (auto& p : one.pkts) {
          if (s.pkts.size() < left) s.pkts.push_back(std::move(p));
        }
        fill.wait(10, 1000);
      }
    }
    counts.sessions++;
    planned += s.pkts.size();
    size_t slot;
    if (!free_slots.empty()) {
      slot = free_slots.back();
      free_slots.pop_back();
      sessions[slot] = std::move(s);
    } else {
      slot = sessions.size();
      sessions.push_back(std::move(s));
    }
    heap.emplace(sessions[slot].pkts.front().ts, order++, slot);
  }

  bool next(Frame& out) {
    if (heap.empty()) return false;
    auto [ts, ord, slot] = heap.top();
    heap.pop();
    Session& s = sessions[slot];
    Pkt& p = s.pkts[s.next++];
    out.ts_us = ts;
    out.bytes = std::move(p.bytes);
    out.tags = p.tags;
    if (s.next < s.pkts.size()) {
      heap.emplace(s.pkts[s.next].ts, ord, slot);
    } else {
      s = Session{};
      free_slots.push_back(slot);
      start_session(ts);
    }
    tally(out);
    return true;
  }

  void tally(const Frame& f) {
    counts.packets++;
    counts.bytes += f.bytes.size();
    auto has = [&](uint16_t t) { return (f.tags & t) ? 1 : 0; };
    counts.dns += has(tag::kDns);
    counts.tls += has(tag::kTls);
    counts.http += has(tag::kHttp);
    counts.arp += has(tag::kArp);
    counts.icmp += has(tag::kIcmp);
    counts.ipv6 += has(tag::kIpv6);
    counts.vlan += has(tag::kVlan);
    counts.fragments += has(tag::kFragment);
    counts.tcp += has(tag::kTcp);
    counts.udp += has(tag::kUdp);
    counts.ntp += has(tag::kNtp);
  }
};

Generator::Generator(const Options& options) : impl_(std::make_unique<Impl>(options)) {}
Generator::~Generator() = default;
bool Generator::next(Frame& out) { return impl_->next(out); }
const Counts& Generator::counts() const { return impl_->counts; }

std::string write_pcap(const Options& options, const std::string& path, Counts* counts,
                       const std::string& frame_tags) {
  FILE* f = path == "-" ? stdout : std::fopen(path.c_str(), "wb");
  if (f == nullptr) return path + ": " + std::strerror(errno);
  FILE* tags = nullptr;
  if (!frame_tags.empty()) {
    tags = std::fopen(frame_tags.c_str(), "w");
    if (tags == nullptr) {
      if (f != stdout) std::fclose(f);
      return frame_tags + ": " + std::strerror(errno);
    }
  }
  auto le32 = [](uint8_t* p, uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  };
  constexpr uint32_t kSnaplen = 262144;
  constexpr uint32_t kLinktypeEthernet = 1;
  uint8_t hdr[24] = {};
  le32(hdr, 0xa1b2c3d4);  // microsecond timestamps
  hdr[4] = 2;             // version 2.4
  hdr[6] = 4;
  le32(hdr + 16, kSnaplen);
  le32(hdr + 20, kLinktypeEthernet);
  bool ok = std::fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
  Generator gen(options);
  Frame fr;
  while (ok && gen.next(fr)) {
    uint8_t rec[16];
    le32(rec, static_cast<uint32_t>(fr.ts_us / 1000000));
    le32(rec + 4, static_cast<uint32_t>(fr.ts_us % 1000000));
    le32(rec + 8, static_cast<uint32_t>(fr.bytes.size()));
    le32(rec + 12, static_cast<uint32_t>(fr.bytes.size()));
    ok = std::fwrite(rec, 1, sizeof rec, f) == sizeof rec &&
         std::fwrite(fr.bytes.data(), 1, fr.bytes.size(), f) == fr.bytes.size();
    if (tags != nullptr)
      std::fprintf(tags, "%llu\t%u\n", static_cast<unsigned long long>(gen.counts().packets),
                   fr.tags);
  }
  std::string err;
  if (!ok) err = path + ": write failed: " + std::strerror(errno);
  if (tags != nullptr && std::fclose(tags) != 0 && err.empty())
    err = frame_tags + ": " + std::strerror(errno);
  if (f != stdout) {
    if (std::fclose(f) != 0 && err.empty()) err = path + ": " + std::strerror(errno);
  } else if (std::fflush(f) != 0 && err.empty()) {
    err = "stdout: " + std::string(std::strerror(errno));
  }
  if (counts != nullptr) *counts = gen.counts();
  return err;
}

}  // namespace tapir::workload
