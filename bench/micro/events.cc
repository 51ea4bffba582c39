#include "events.h"

#include <string>

#include "rng.h"

namespace tapir::bench {
namespace {

using workload::Rng;

constexpr int64_t kBaseSec = 1704067200;  // 2024-01-01T00:00:00Z

const std::vector<std::string> kHosts = {
    "www.example.com", "api.example.net", "cdn.example.org", "login.tapir.test",
    "img.shop.example.com", "static.news.example", "edge7.cdn.example", "mail.example"};

void set_ts(google::protobuf::Timestamp* ts, Rng& r) {
  ts->set_seconds(kBaseSec + static_cast<int64_t>(r.below(86400)));
  ts->set_nanos(static_cast<int32_t>(r.below(1000000) * 1000));
}

std::string ip(Rng& r, bool v6) {
  std::string a;
  if (v6) {
    a = std::string("\x20\x01\x0d\xb8", 4) + std::string(10, '\0');
    a += static_cast<char>(r.below(256));
    a += static_cast<char>(r.below(256));
  } else {
    a = {static_cast<char>(r.chance(50) ? 10 : 198), static_cast<char>(r.below(256)),
         static_cast<char>(r.below(256)), static_cast<char>(1 + r.below(254))};
  }
  return a;
}

std::string mac(Rng& r) {
  std::string m = {'\x02', '\x00'};
  for (int i = 0; i < 4; ++i) m += static_cast<char>(r.below(256));
  return m;
}

std::string community_id(Rng& r) {
  static constexpr char kB64[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string s = "1:";
  for (int i = 0; i < 27; ++i) s += kB64[r.below(64)];
  return s + "=";
}

// The common header (fields 1-9) shared by the IP event messages.
template <class M>
void header(M& m, Rng& r, uint32_t proto, bool with_ports = true) {
  bool v6 = r.chance(20);
  set_ts(m.mutable_ts(), r);
  m.set_community_id(community_id(r));
  if (r.chance(10)) m.add_vlan(static_cast<uint32_t>(10 + r.below(3) * 10));
  m.set_sampling_rate(1);
  m.mutable_src()->set_ip(ip(r, v6));
  m.mutable_dst()->set_ip(ip(r, v6));
  if (with_ports) {
    m.mutable_src()->set_port(static_cast<uint32_t>(r.range(32768, 60999)));
    m.mutable_dst()->set_port(proto == 17 ? 53u : (r.chance(60) ? 443u : 80u));
  }
  m.set_ip_proto(proto);
  m.set_ip_version(v6 ? 6 : 4);
}

}  // namespace

std::vector<v1::Flow> make_flows(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Flow> v(n);
  for (auto& f : v) {
    bool tcp = r.chance(70);
    header(f, r, tcp ? 6 : 17);
    f.mutable_src()->set_mac(mac(r));
    f.mutable_dst()->set_mac(mac(r));
    *f.mutable_ts_end() = f.ts();
    uint64_t dur = r.chance(30) ? r.below(1000) : r.below(120000000);
    f.mutable_ts_end()->set_seconds(f.ts().seconds() + static_cast<int64_t>(dur / 1000000));
    f.set_duration_us(dur);
    uint64_t sp = r.range(1, 40), dp = r.range(1, 60);
    f.set_src_packets(sp);
    f.set_dst_packets(dp);
    f.set_src_ip_bytes(sp * r.range(40, 600));
    f.set_dst_ip_bytes(dp * r.range(40, 1400));
    f.set_src_frame_bytes(f.src_ip_bytes() + 14 * sp);
    f.set_dst_frame_bytes(f.dst_ip_bytes() + 14 * dp);
    f.set_src_payload_bytes(f.src_ip_bytes() - 40 * sp);
    f.set_dst_payload_bytes(f.dst_ip_bytes() - 40 * dp);
    if (tcp) {
      f.set_src_tcp_flags(0x1b);
      f.set_dst_tcp_flags(0x1b);
      f.set_rtt_us(r.range(200, 90000));
      f.set_end_reason(r.chance(80) ? v1::END_FIN : v1::END_RST);
      f.set_app_proto(r.chance(60) ? "tls" : "http");
    } else {
      f.set_end_reason(v1::END_IDLE);
      f.set_app_proto("dns");
    }
    f.set_src_min_ttl(64);
    f.set_dst_min_ttl(static_cast<uint32_t>(r.range(40, 60)));
  }
  return v;
}

std::vector<v1::Dns> make_dns(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Dns> v(n);
  for (auto& d : v) {
    header(d, r, 17);
    d.set_trans_id(static_cast<uint32_t>(r.below(65536)));
    bool nx = r.chance(8);
    d.set_rcode(nx ? 3 : 0);
    d.set_rcode_name(nx ? "NXDOMAIN" : "NOERROR");
    std::string q = r.pick(kHosts);
    d.set_query(q);
    bool aaaa = r.chance(30);
    d.set_qtype(aaaa ? 28 : 1);
    d.set_qtype_name(aaaa ? "AAAA" : "A");
    d.set_qclass(1);
    d.set_has_query(true);
    d.set_has_response(true);
    d.set_rd(true);
    d.set_ra(true);
    d.set_rtt_us(r.range(200, 60000));
    auto* qq = d.add_questions();
    qq->set_name(q);
    qq->set_type(d.qtype());
    qq->set_class_(1);
    if (!nx) {
      size_t k = r.range(1, 3);
      uint32_t min_ttl = UINT32_MAX;
      for (size_t i = 0; i < k; ++i) {
        auto* a = d.add_answers();
        a->set_name(q);
        a->set_type(d.qtype());
        a->set_class_(1);
        uint32_t ttl = static_cast<uint32_t>(r.range(30, 86400));
        a->set_ttl(ttl);
        min_ttl = std::min(min_ttl, ttl);
        std::string data = aaaa ? "2001:db8::" + std::to_string(r.below(65536))
                                : "192.0.2." + std::to_string(1 + r.below(254));
        a->set_data(data);
        d.add_answer_data(data);
      }
      d.set_min_ttl(min_ttl);
    }
    d.set_query_len(static_cast<uint32_t>(17 + q.size()));
    d.set_response_len(static_cast<uint32_t>(d.query_len() + 16 * d.answers_size()));
  }
  return v;
}

std::vector<v1::Arp> make_arps(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Arp> v(n);
  for (auto& a : v) {
    set_ts(a.mutable_ts(), r);
    a.set_sampling_rate(1);
    bool reply = r.chance(50);
    a.set_opcode(reply ? 2 : 1);
    a.set_op(reply ? v1::ARP_REPLY : v1::ARP_REQUEST);
    a.set_sender_mac(mac(r));
    a.set_sender_ip(ip(r, false));
    a.set_target_mac(reply ? mac(r) : std::string(6, '\0'));
    a.set_target_ip(ip(r, false));
    a.set_eth_src(a.sender_mac());
    a.set_eth_dst(reply ? a.target_mac() : std::string(6, '\xff'));
    if (reply) a.set_rtt_us(r.range(50, 3000));
    a.set_hw_type(1);
    a.set_proto_type(0x0800);
  }
  return v;
}

std::vector<v1::Icmp> make_icmps(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Icmp> v(n);
  for (auto& m : v) {
    header(m, r, 1, false);
    bool v6 = m.ip_version() == 6;
    if (v6) m.set_ip_proto(58);
    bool reply = r.chance(50);
    m.set_type(v6 ? (reply ? 129 : 128) : (reply ? 0 : 8));
    m.set_type_name(reply ? "echo-reply" : "echo-request");
    m.set_echo_id(static_cast<uint32_t>(r.below(65536)));
    m.set_echo_seq(static_cast<uint32_t>(r.range(1, 20)));
    if (reply) {
      m.set_paired(true);
      m.set_rtt_us(r.range(300, 90000));
    }
    m.set_payload_len(56);
  }
  return v;
}

std::vector<v1::Packet> make_packets(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Packet> v(n);
  for (auto& p : v) {
    header(p, r, 6);
    p.set_wire_len(static_cast<uint32_t>(r.range(60, 1514)));
    p.set_cap_len(p.wire_len());
    p.set_ether_type(p.ip_version() == 6 ? 0x86dd : 0x0800);
    p.set_ttl(64);
    p.set_ip_id(static_cast<uint32_t>(r.below(65536)));
    p.set_tcp_flags(0x18);
    p.set_tcp_seq(static_cast<uint32_t>(r.next()));
    p.set_tcp_ack(static_cast<uint32_t>(r.next()));
    p.set_tcp_window(501);
    p.set_payload_len(p.wire_len() - 54);
    p.set_layers(p.ip_version() == 6 ? "eth/ipv6/tcp" : "eth/ipv4/tcp");
  }
  return v;
}

std::vector<v1::Tls> make_tls(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Tls> v(n);
  for (auto& t : v) {
    header(t, r, 6);
    t.mutable_dst()->set_port(443);
    bool v13 = r.chance(75);
    t.set_version(v13 ? 0x0304 : 0x0303);
    t.set_version_name(v13 ? "TLSv1.3" : "TLSv1.2");
    t.set_record_version(0x0301);
    t.set_client_version(0x0303);
    t.set_sni(r.pick(kHosts));
    t.add_alpn_offered("h2");
    t.add_alpn_offered("http/1.1");
    t.set_alpn("h2");
    for (uint32_t c : {0x0a0au, 0x1301u, 0x1302u, 0x1303u, 0xc02bu, 0xc02fu, 0xc02cu, 0xc030u,
                       0xcca9u, 0xcca8u, 0xc013u, 0xc014u, 0x009cu, 0x009du, 0x002fu, 0x0035u})
      t.add_ciphers_offered(c);
    t.set_cipher(v13 ? 0x1301 : 0xc02f);
    for (uint32_t e : {0x0a0au, 0u, 23u, 65281u, 10u, 11u, 35u, 16u, 5u, 13u, 18u, 51u, 45u, 43u,
                       0x1a1au})
      t.add_client_extensions(e);
    for (uint32_t e : {51u, 43u}) t.add_server_extensions(e);
    for (uint32_t g : {0x0a0au, 29u, 23u, 24u}) t.add_supported_groups(g);
    for (uint32_t s : {0x0403u, 0x0804u, 0x0401u, 0x0503u, 0x0805u, 0x0501u, 0x0806u, 0x0601u})
      t.add_signature_algorithms(s);
    t.add_key_share_groups(29);
    t.add_supported_versions(0x0304);
    t.add_supported_versions(0x0303);
    t.set_resumption_offered(true);
    t.set_ja3("771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
              "0-23-65281-10-11-35-16-5-13-18-51-45-43,29-23-24,0");
    t.set_ja3_hash("cd08e31494f9531f560d64c695473da9");
    t.set_ja3s(v13 ? "771,4865,51-43" : "771,49199,65281-23-11-16");
    t.set_ja3s_hash("eb1d94daa7e0344597e756a1fb6e7054");
    t.set_ja4("t13d1513h2_8daaf6152771_b186095e22b6");
    t.set_rtt_us(r.range(300, 90000));
    t.set_session_id_len(32);
  }
  return v;
}

std::vector<v1::Http> make_http(size_t n, uint64_t seed) {
  Rng r(seed);
  static const std::vector<std::string> kUris = {"/", "/index.html", "/api/v1/items",
                                                 "/static/app.js", "/search?q=tapir"};
  std::vector<v1::Http> v(n);
  for (auto& h : v) {
    header(h, r, 6);
    h.mutable_dst()->set_port(80);
    h.set_trans_depth(static_cast<uint32_t>(r.range(1, 4)));
    h.set_method(r.chance(85) ? "GET" : "POST");
    h.set_host(r.pick(kHosts));
    h.set_uri(r.pick(kUris));
    h.set_version("1.1");
    h.set_user_agent("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0");
    h.set_response_content_type("text/html; charset=utf-8");
    h.set_status(200);
    h.set_reason("OK");
    h.set_response_body_len(r.range(100, 30000));
    h.set_latency_us(r.range(500, 200000));
    h.set_request_headers(5);
    h.set_response_headers(6);
    h.set_has_response(true);
  }
  return v;
}

std::vector<v1::Agent> make_agents(size_t n, uint64_t seed) {
  Rng r(seed);
  std::vector<v1::Agent> v(n);
  for (auto& a : v) {
    set_ts(a.mutable_ts(), r);
    a.set_agent_id("agent-" + std::to_string(r.below(1000)));
    a.set_hostname("node" + std::to_string(r.below(100)) + ".example.net");
    a.set_version("0.1.0");
    a.set_os("Linux 6.1.0-13-amd64");
    a.set_arch("x86_64");
    a.add_interfaces("eth0");
    set_ts(a.mutable_start_time(), r);
    (*a.mutable_labels())["site"] = "fra1";
    (*a.mutable_labels())["role"] = "edge";
    auto* c = a.mutable_counters();
    c->set_packets_seen(r.below(1ull << 34));
    c->set_decoded(c->packets_seen() - r.below(1000));
    c->set_malformed(r.below(1000));
    c->set_events(c->packets_seen() / 8);
    c->set_events_exported(c->events());
    c->set_bytes_seen(c->packets_seen() * 700);
    c->set_kernel_drops(r.below(100));
  }
  return v;
}

std::vector<v1::EventBatch> make_batches(size_t n, size_t per_batch, uint64_t seed) {
  Rng r(seed);
  auto flows = make_flows(per_batch, seed);
  auto dns = make_dns(per_batch, seed + 1);
  auto tls = make_tls(per_batch, seed + 2);
  auto http = make_http(per_batch, seed + 3);
  auto icmp = make_icmps(per_batch, seed + 4);
  auto arp = make_arps(per_batch, seed + 5);
  std::vector<v1::EventBatch> v(n);
  uint64_t seq = 1;
  for (auto& b : v) {
    b.set_agent_id("agent-1");
    b.set_sequence(seq++);
    for (size_t i = 0; i < per_batch; ++i) {
      auto* e = b.add_events();
      // Mix by share of events on the generated workload: flows and DNS dominate.
      uint64_t k = r.below(100);
      if (k < 45) *e->mutable_flow() = flows[i];
      else if (k < 70) *e->mutable_dns() = dns[i];
      else if (k < 82) *e->mutable_tls() = tls[i];
      else if (k < 92) *e->mutable_http() = http[i];
      else if (k < 97) *e->mutable_icmp() = icmp[i];
      else *e->mutable_arp() = arp[i];
    }
  }
  return v;
}

}  // namespace tapir::bench
