// DNS analyzer through the real pipeline, against independent oracles:
//  - every tshark DNS table of the corpus (UDP, TCP, tunnels, IPv6 fragments):
//    each tshark row (one message) must be found in exactly one transaction
//    event, with equal fields, and no event may carry a message tshark lacks;
//  - Zeek dns.log baselines (query, qtype, rcode, answers, TTLs);
//  - Suricata test.yaml DNS checks for the malformed cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "analyzers/dns/parser.h"
#include "engine_run.h"
#include "oracle.h"

namespace tapir::analyzers::dns {
namespace {

using tapir::testing::corpus;
using tapir::testing::ip_text;
using tapir::testing::split;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

std::vector<std::string> unquote_all(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '"') {
      ++i;
      continue;
    }
    std::string cur;
    ++i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
        cur.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 3))));
        i += 4;
      } else if (s[i] == '\\' && i + 1 < s.size()) {
        cur.push_back(s[i + 1]);
        i += 2;
      } else {
        cur.push_back(s[i++]);
      }
    }
    ++i;
    out.push_back(cur);
  }
  return out;
}

std::vector<v1::Dns> run_dns(const std::string& rel) {
  std::string err;
  auto events = tapir::testing::run_capture(corpus(rel), {"dns"}, {v1::Event::kDns}, err);
  EXPECT_EQ(err, "") << rel;
  std::vector<v1::Dns> out;
  for (auto& e : events)
    if (e.has_dns()) out.push_back(e.dns());
  return out;
}

// One message inside a transaction event.
struct Part {
  const v1::Dns* ev = nullptr;
  bool response = false;
  bool used = false;
};

std::string first_qname(const v1::Dns& d) {
  return d.questions_size() > 0 ? d.questions(0).name() : d.query();
}

void compare_query(const std::map<std::string, std::string>& row, const v1::Dns& d) {
  EXPECT_EQ(std::to_string(d.opcode()), row.at("dns.flags.opcode"));
  std::vector<std::string> qn, qt;
  for (const auto& q : d.questions()) {
    qn.push_back(q.name().empty() ? "<Root>" : q.name());
    qt.push_back(std::to_string(q.type()));
  }
  EXPECT_EQ(join(qn, ","), row.at("dns.qry.name"));
  EXPECT_EQ(join(qt, ","), row.at("dns.qry.type"));
  // The query's own records are not kept in the event, but its OPT shows as EDNS.
  // (An OPT may announce size 0, as tcpdump/dnssec frame 5 does, so only the
  // absence is checked.)
  const auto types = split(row.at("dns.resp.type"), ",");
  const bool opt = std::find(types.begin(), types.end(), "41") != types.end();
  if (!opt) {
    EXPECT_EQ(d.edns_udp_size(), 0u);
    EXPECT_FALSE(d.edns_do());
  }
}

void compare_response(const std::map<std::string, std::string>& row, const v1::Dns& d) {
  EXPECT_EQ(std::to_string(d.rcode() & 0xf), row.at("dns.flags.rcode"));
  EXPECT_EQ(std::to_string(d.answers_size()), row.at("dns.count.answers"));
  if (!d.has_query()) {
    std::vector<std::string> qn;
    for (const auto& q : d.questions()) qn.push_back(q.name());
    EXPECT_EQ(join(qn, ","), row.at("dns.qry.name"));
  }
  std::vector<std::string> types, a, aaaa, cname, mx, ns, ptr, soa, txt;
  for (const auto* sec : {&d.answers(), &d.authorities(), &d.additionals()}) {
    for (const auto& r : *sec) {
      types.push_back(std::to_string(r.type()));
      const std::string& x = r.data();
      switch (r.type()) {
        case type::kA: a.push_back(x); break;
        case type::kAaaa: aaaa.push_back(x); break;
        case type::kCname: cname.push_back(x); break;
        case type::kMx: mx.push_back(x.substr(x.find(' ') + 1)); break;
        case type::kNs: ns.push_back(x); break;
        case type::kPtr: ptr.push_back(x); break;
        case type::kSoa: soa.push_back(x.substr(0, x.find(' '))); break;
        case type::kTxt:
          for (auto& s : unquote_all(x)) txt.push_back(s);
          break;
        default: break;
      }
    }
  }
  EXPECT_EQ(join(types, ","), row.at("dns.resp.type"));
  EXPECT_EQ(join(a, ","), row.at("dns.a"));
  EXPECT_EQ(join(aaaa, ","), row.at("dns.aaaa"));
  EXPECT_EQ(join(cname, ","), row.at("dns.cname"));
  EXPECT_EQ(join(mx, ","), row.at("dns.mx.mail_exchange"));
  EXPECT_EQ(join(ns, ","), row.at("dns.ns"));
  EXPECT_EQ(join(ptr, ","), row.at("dns.ptr.domain_name"));
  EXPECT_EQ(join(soa, ","), row.at("dns.soa.mname"));
  EXPECT_EQ(join(txt, " | "), row.at("dns.txt"));
}

struct TsharkCase {
  const char* pcap;
  const char* tsv;
};

// Every capture of the corpus with a tshark DNS table.
const TsharkCase kTsharkCases[] = {
    {"suricata-verify/cond-log-dns-dig/input.pcap", "suricata-verify/cond-log-dns-dig/input.dns.tsv"},
    {"suricata-verify/decode-teredo-01/input.pcap", "suricata-verify/decode-teredo-01/input.dns.tsv"},
    {"suricata-verify/dns-eve-v2-udp-nxdomain-soa/dns-udp-nxdomain-soa.pcap",
     "suricata-verify/dns-eve-v2-udp-nxdomain-soa/dns-udp-nxdomain-soa.dns.tsv"},
    {"suricata-verify/dns__dns-forward-pointer/input.pcap",
     "suricata-verify/dns__dns-forward-pointer/input.dns.tsv"},
    {"suricata-verify/dns__dns-invalid-opcode/input.pcap",
     "suricata-verify/dns__dns-invalid-opcode/input.dns.tsv"},
    {"suricata-verify/dns__dns-tcp-www-google-com/dns.pcap",
     "suricata-verify/dns__dns-tcp-www-google-com/dns.dns.tsv"},
    {"suricata-verify/dns__dns-udp-eve-log-answer-only/dns-udp-google.com-a-aaaa-mx.pcap",
     "suricata-verify/dns__dns-udp-eve-log-answer-only/dns-udp-google.com-a-aaaa-mx.dns.tsv"},
    {"suricata-verify/dns__dns-udp-eve-txt/input.pcap",
     "suricata-verify/dns__dns-udp-eve-txt/input.dns.tsv"},
    {"suricata-verify/vxlan-decoder-03/vxlan.pcap", "suricata-verify/vxlan-decoder-03/vxlan.dns.tsv"},
    {"tcpdump/dns_tcp/dns_tcp.pcap", "tcpdump/dns_tcp/dns_tcp.dns.tsv"},
    {"tcpdump/dns_udp/dns_udp.pcap", "tcpdump/dns_udp/dns_udp.dns.tsv"},
    {"tcpdump/dnssec/dnssec.pcap", "tcpdump/dnssec/dnssec.dns.tsv"},
    {"tcpdump/edns-opts/edns-opts.pcap", "tcpdump/edns-opts/edns-opts.dns.tsv"},
    {"zeek/dns-edns-tcp-keepalive/dns-edns-tcp-keepalive.pcap",
     "zeek/dns-edns-tcp-keepalive/dns-edns-tcp-keepalive.dns.tsv"},
    {"zeek/dns-two-responses/dns-two-responses.pcap", "zeek/dns-two-responses/dns-two-responses.dns.tsv"},
    {"zeek/dns__dns-binds/dns-binds.pcap", "zeek/dns__dns-binds/dns-binds.dns.tsv"},
    {"zeek/dns__dns-corrupt/dns-corrupt.pcap", "zeek/dns__dns-corrupt/dns-corrupt.dns.tsv"},
    {"zeek/dns__tkey/tkey.pcap", "zeek/dns__tkey/tkey.dns.tsv"},
    {"zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.pcap",
     "zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.dns.tsv"},
    {"zeek/ipv6-hbh-routing0/ipv6-hbh-routing0.pcap", "zeek/ipv6-hbh-routing0/ipv6-hbh-routing0.dns.tsv"},
    {"zeek/tunnels__Teredo/Teredo.pcap", "zeek/tunnels__Teredo/Teredo.dns.tsv"},
    {"zeek/tunnels__gre-over-udp-4754/gre-over-udp-4754.pcap",
     "zeek/tunnels__gre-over-udp-4754/gre-over-udp-4754.dns.tsv"},
    {"zeek/tunnels__gre-sample/gre-sample.pcap", "zeek/tunnels__gre-sample/gre-sample.dns.tsv"},
};

// tcpdump/dns_fwdptr is compared in dns_parser_test (its one message is a
// response on port 500 -> 53 flood of 64259 announced questions).

// Deliberate differences from tshark: rows Tapir does not turn into DNS
// transactions, by capture and frame, with the reason.
struct SkippedRow {
  const char* pcap;
  int frame;
  const char* reason;
};
const SkippedRow kSkippedRows[] = {
    {"zeek/tunnels__gre-sample/gre-sample.pcap", 34,
     "the query is quoted inside an ICMP error; tshark dissects quoted packets, Tapir reports the "
     "ICMP error (orig_dst, orig_ip_proto) and does not count quoted bytes as DNS traffic"},
    {"zeek/tunnels__gre-sample/gre-sample.pcap", 36, "as frame 34: DNS quoted in an ICMP error"},
};

bool skipped(const char* pcap, int frame) {
  for (const auto& s : kSkippedRows)
    if (std::string(s.pcap) == pcap && s.frame == frame) return true;
  return false;
}

class DnsVsTshark : public ::testing::TestWithParam<TsharkCase> {};

TEST_P(DnsVsTshark, EveryMessageMatches) {
  const TsharkCase& c = GetParam();
  const auto events = run_dns(c.pcap);
  auto table = tapir::testing::load_tsv(corpus(c.tsv));
  ASSERT_TRUE(table.ok) << c.tsv;

  std::vector<Part> parts;
  for (const auto& e : events) {
    if (e.has_query()) parts.push_back({&e, false, false});
    if (e.has_response()) parts.push_back({&e, true, false});
  }
  size_t rows = 0;
  for (const auto& row : table.rows) {
    if (row.at("dns.id").empty()) continue;  // tshark saw no DNS header in this frame
    if (skipped(c.pcap, std::stoi(row.at("frame")))) continue;
    ++rows;
    SCOPED_TRACE(std::string(c.pcap) + " frame " + row.at("frame"));
    const bool resp = row.at("dns.flags.response") == "1";
    const uint32_t id = static_cast<uint32_t>(std::stoul(row.at("dns.id")));
    const std::string qname = lower(split(row.at("dns.qry.name"), ",").empty()
                                        ? ""
                                        : split(row.at("dns.qry.name"), ",")[0]);
    Part* found = nullptr;
    for (auto& p : parts) {
      if (p.used || p.response != resp || p.ev->trans_id() != id) continue;
      if (lower(first_qname(*p.ev)) != qname) continue;
      // The sender of the message: the client for a query, the server for a response.
      const auto& sender = resp ? p.ev->dst() : p.ev->src();
      const auto& receiver = resp ? p.ev->src() : p.ev->dst();
      if (ip_text(sender.ip()) != row.at("src") || ip_text(receiver.ip()) != row.at("dst")) continue;
      if (std::to_string(sender.port()) != row.at("sport")) continue;
      found = &p;
      break;
    }
    ASSERT_NE(found, nullptr) << "no event carries this message";
    found->used = true;
    if (resp) {
      compare_response(row, *found->ev);
    } else {
      compare_query(row, *found->ev);
    }
  }
  for (const auto& p : parts)
    EXPECT_TRUE(p.used) << c.pcap << ": event message not in tshark: id " << p.ev->trans_id()
                        << (p.response ? " response " : " query ") << p.ev->query();
  EXPECT_EQ(parts.size(), rows);
}

INSTANTIATE_TEST_SUITE_P(Corpus, DnsVsTshark, ::testing::ValuesIn(kTsharkCases),
                         [](const ::testing::TestParamInfo<TsharkCase>& i) {
                           std::string n = i.param.pcap;
                           n = n.substr(0, n.rfind('/'));
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

bool has_anomaly(const v1::Dns& d, v1::DnsAnomaly a) {
  return std::find(d.anomalies().begin(), d.anomalies().end(), a) != d.anomalies().end();
}

// Pairing, timing and flags on captures whose shape is known from their
// oracles (tshark rows and the peers' expected outputs).
TEST(DnsTransactions, QueryAndResponsePairedWithRtt) {
  const auto ev = run_dns("tcpdump/dns_udp/dns_udp.pcap");
  ASSERT_EQ(ev.size(), 1u);
  const v1::Dns& d = ev[0];
  EXPECT_TRUE(d.has_query());
  EXPECT_TRUE(d.has_response());
  EXPECT_EQ(d.query(), "www.tcpdump.org");
  EXPECT_EQ(d.qtype_name(), "A");
  EXPECT_EQ(d.rcode_name(), "NOERROR");
  EXPECT_EQ(ip_text(d.src().ip()), "192.168.1.11");
  EXPECT_EQ(d.src().port(), 43966u);
  EXPECT_EQ(d.dst().port(), 53u);
  // Frame times from tshark: 1591780794.740079 -> .870361.
  EXPECT_EQ(d.rtt_us(), 870361u - 740079u);
  EXPECT_EQ(d.ip_proto(), 17u);
  EXPECT_FALSE(d.community_id().empty());
}

TEST(DnsTransactions, DuplicateResponseFlagged) {
  // Zeek's dns-two-responses: one query, the same response twice.
  const auto ev = run_dns("zeek/dns-two-responses/dns-two-responses.pcap");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].has_query() && ev[0].has_response());
  EXPECT_FALSE(has_anomaly(ev[0], v1::DNS_DUPLICATE_RESPONSE));
  EXPECT_FALSE(ev[1].has_query());
  EXPECT_TRUE(has_anomaly(ev[1], v1::DNS_DUPLICATE_RESPONSE));
  EXPECT_FALSE(has_anomaly(ev[1], v1::DNS_UNSOLICITED_RESPONSE));
}

TEST(DnsTransactions, UnansweredQueriesEmittedAtEnd) {
  // gre-sample: two queries for www.gleeble.org (tshark frames 33, 35), no
  // response; frames 34 and 36 are ICMP errors quoting them (kSkippedRows).
  const auto ev = run_dns("zeek/tunnels__gre-sample/gre-sample.pcap");
  ASSERT_EQ(ev.size(), 2u);
  for (const auto& d : ev) {
    EXPECT_TRUE(d.has_query());
    EXPECT_FALSE(d.has_response());
    EXPECT_EQ(d.query(), "www.gleeble.org");
    EXPECT_EQ(d.qtype_name(), "ANY");
    EXPECT_EQ(d.tunnel().type(), v1::TUNNEL_GRE);
  }
}

TEST(DnsTransactions, TcpMessagesOnOneConnection) {
  // Zeek's EDNS keepalive capture: two transactions over TCP.
  const auto ev = run_dns("zeek/dns-edns-tcp-keepalive/dns-edns-tcp-keepalive.pcap");
  ASSERT_EQ(ev.size(), 2u);
  for (const auto& d : ev) {
    EXPECT_TRUE(d.has_query() && d.has_response());
    EXPECT_EQ(d.ip_proto(), 6u);
    EXPECT_EQ(d.query(), "wikipedia.org");
    EXPECT_TRUE(d.anomalies().empty());
  }
}

// Malformed captures: flagged, nothing lost, no crash.
TEST(DnsMalformed, InvalidOpcodeFlagged) {
  // Suricata's test.yaml expects both messages logged (id 1, opcode 9,
  // suricata.io, server 2.2.2.2:53).
  const auto ev = run_dns("suricata-verify/dns__dns-invalid-opcode/input.pcap");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].trans_id(), 1u);
  EXPECT_EQ(ev[0].query(), "suricata.io");
  EXPECT_EQ(ip_text(ev[0].dst().ip()), "2.2.2.2");
  EXPECT_EQ(ev[0].dst().port(), 53u);
  EXPECT_EQ(ev[0].opcode(), 9u);
  EXPECT_TRUE(ev[0].has_query() && ev[0].has_response());
  EXPECT_TRUE(has_anomaly(ev[0], v1::DNS_INVALID_OPCODE));
}

TEST(DnsMalformed, ForwardPointerFlagged) {
  // Suricata's test.yaml: request with two questions codemonkey.net/A, the
  // response answers 152.53.82.239 with TTL 300.
  const auto ev = run_dns("suricata-verify/dns__dns-forward-pointer/input.pcap");
  ASSERT_EQ(ev.size(), 1u);
  const v1::Dns& d = ev[0];
  ASSERT_EQ(d.questions_size(), 2);
  EXPECT_EQ(d.questions(0).name(), "codemonkey.net");
  EXPECT_EQ(d.questions(1).name(), "codemonkey.net");
  ASSERT_EQ(d.answers_size(), 1);
  EXPECT_EQ(d.answers(0).name(), "codemonkey.net");
  EXPECT_EQ(d.answers(0).data(), "152.53.82.239");
  EXPECT_EQ(d.answers(0).ttl(), 300u);
  EXPECT_TRUE(has_anomaly(d, v1::DNS_BAD_POINTER));
}

TEST(DnsMalformed, TcpdumpForwardPointerFloodSurvives) {
  const auto ev = run_dns("tcpdump/dns_fwdptr/dns_fwdptr.pcap");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].has_query());
  EXPECT_TRUE(has_anomaly(ev[0], v1::DNS_UNSOLICITED_RESPONSE));
  EXPECT_TRUE(has_anomaly(ev[0], v1::DNS_INVALID_OPCODE));
  EXPECT_TRUE(has_anomaly(ev[0], v1::DNS_BAD_LABEL_TYPE));
  EXPECT_LE(ev[0].questions_size(), static_cast<int>(kMaxQuestionsKept));
}

// ---- Suricata test.yaml DNS checks (values copied from the expected files) --

TEST(DnsVsSuricata, NxdomainSoaAuthority) {
  // dns-eve-v2-udp-nxdomain-soa: rcode NXDOMAIN, authorities[0] oisf.net SOA
  // ttl 899, mname ns-110.awsdns-13.com, rname awsdns-hostmaster.amazon.com,
  // serial 1, refresh 7200, retry 900, expire 1209600, minimum 86400.
  const auto ev = run_dns("suricata-verify/dns-eve-v2-udp-nxdomain-soa/dns-udp-nxdomain-soa.pcap");
  ASSERT_EQ(ev.size(), 1u);
  const v1::Dns& d = ev[0];
  EXPECT_EQ(d.rcode_name(), "NXDOMAIN");
  ASSERT_GE(d.authorities_size(), 1);
  EXPECT_EQ(d.authorities(0).name(), "oisf.net");
  EXPECT_EQ(d.authorities(0).type(), type::kSoa);
  EXPECT_EQ(d.authorities(0).ttl(), 899u);
  EXPECT_EQ(d.authorities(0).data(),
            "ns-110.awsdns-13.com awsdns-hostmaster.amazon.com 1 7200 900 1209600 86400");
}

TEST(DnsVsSuricata, TxtAndAResponses) {
  // dns__dns-udp-eve-txt: request 28243 google.com TXT from 10.16.1.11:52345
  // to 10.16.1.1:53; response 39372 with answers[0] textsecure-service-ca.
  // whispersystems.org A 34.197.178.240 ttl 5, flags 8180 (qr rd ra), NOERROR.
  const auto ev = run_dns("suricata-verify/dns__dns-udp-eve-txt/input.pcap");
  ASSERT_EQ(ev.size(), 2u);
  const v1::Dns& txt = ev[0];
  EXPECT_EQ(txt.trans_id(), 28243u);
  EXPECT_EQ(txt.query(), "google.com");
  EXPECT_EQ(txt.qtype_name(), "TXT");
  EXPECT_EQ(ip_text(txt.src().ip()), "10.16.1.11");
  EXPECT_EQ(txt.src().port(), 52345u);
  EXPECT_EQ(ip_text(txt.dst().ip()), "10.16.1.1");
  EXPECT_EQ(txt.dst().port(), 53u);
  const v1::Dns& a = ev[1];
  EXPECT_EQ(a.trans_id(), 39372u);
  EXPECT_EQ(a.src().port(), 60922u);
  ASSERT_EQ(a.answers_size(), 1);
  EXPECT_EQ(a.answers(0).name(), "textsecure-service-ca.whispersystems.org");
  EXPECT_EQ(a.answers(0).data(), "34.197.178.240");
  EXPECT_EQ(a.answers(0).ttl(), 5u);
  EXPECT_TRUE(a.rd());
  EXPECT_TRUE(a.ra());
  EXPECT_FALSE(a.aa());
  EXPECT_EQ(a.rcode_name(), "NOERROR");
}

TEST(DnsVsSuricata, AnswerOnlyAaaa) {
  // dns__dns-udp-eve-log-answer-only: the AAAA response has one answer, AAAA.
  const auto ev =
      run_dns("suricata-verify/dns__dns-udp-eve-log-answer-only/dns-udp-google.com-a-aaaa-mx.pcap");
  ASSERT_EQ(ev.size(), 3u);
  int aaaa = 0;
  for (const auto& d : ev) {
    if (d.qtype_name() != "AAAA") continue;
    ++aaaa;
    ASSERT_EQ(d.answers_size(), 1);
    EXPECT_EQ(d.answers(0).type(), type::kAaaa);
  }
  EXPECT_EQ(aaaa, 1);
}

TEST(DnsVsSuricata, TcpRequestAndResponse) {
  // dns__dns-tcp-www-google-com: one request 10.16.1.11 -> 8.8.4.4 and one response.
  const auto ev = run_dns("suricata-verify/dns__dns-tcp-www-google-com/dns.pcap");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ip_text(ev[0].src().ip()), "10.16.1.11");
  EXPECT_EQ(ip_text(ev[0].dst().ip()), "8.8.4.4");
  EXPECT_TRUE(ev[0].has_query() && ev[0].has_response());
  EXPECT_EQ(ev[0].ip_proto(), 6u);
}

TEST(DnsMalformed, CorruptCaptureDecoded) {
  // Zeek's dns-corrupt: the response's UDP checksum is wrong but the message
  // is intact (tshark shows two A answers); Zeek logs it answered.
  const auto ev = run_dns("zeek/dns__dns-corrupt/dns-corrupt.pcap");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_TRUE(ev[0].has_query() && ev[0].has_response());
  EXPECT_EQ(ev[0].answers_size(), 2);
}

}  // namespace
}  // namespace tapir::analyzers::dns

namespace tapir::analyzers::dns {
namespace {

// ---- Zeek dns.log baselines -------------------------------------------------

// A Zeek TSV log as rows of field -> text.
tapir::testing::Table load_zeek_log(const std::string& path) {
  tapir::testing::Table t;
  std::ifstream in(path);
  if (!in) return t;
  std::vector<std::string> fields;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("#fields\t", 0) == 0) {
      fields = split(line.substr(8), "\t");
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const auto vals = split(line, "\t");
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < fields.size(); ++i) row[fields[i]] = i < vals.size() ? vals[i] : "";
    t.rows.push_back(std::move(row));
  }
  t.ok = !fields.empty();
  return t;
}

struct ZeekCase {
  const char* pcap;
  const char* log;
};

const ZeekCase kZeekCases[] = {
    {"zeek/dns__tkey/tkey.pcap", "zeek/dns__tkey/expected/scripts.base.protocols.dns.tkey/dns.log"},
    {"zeek/dns-two-responses/dns-two-responses.pcap",
     "zeek/dns-two-responses/expected/scripts.base.protocols.dns.duplicate-reponses/dns.log"},
    {"zeek/dns__dns-binds/dns-binds.pcap",
     "zeek/dns__dns-binds/expected/scripts.base.protocols.dns.binds/dns.log"},
    {"zeek/tunnels__gre-sample/gre-sample.pcap",
     "zeek/tunnels__gre-sample/expected/core.tunnels.gre/dns.log"},
    {"zeek/tunnels__gre-over-udp-4754/gre-over-udp-4754.pcap",
     "zeek/tunnels__gre-over-udp-4754/expected/core.tunnels.gre-over-udp/dns.log"},
    {"zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.pcap",
     "zeek/ipv6-fragmented-dns/expected/core.ipv6-frag/dns.log"},
};

// Deliberate differences from Zeek's dns.log.
struct ZeekDifference {
  const char* what;
  const char* reason;
};
const ZeekDifference kZeekDifferences[] = {
    {"answers of types other than A/AAAA/CNAME/NS/PTR",
     "Zeek writes its own text (\"TXT 33 ...\", \"RRSIG 5 cmu.edu\", \"BIND9 signing signal\"); "
     "Tapir writes zone-file text or hex (checked against tshark instead); only the TTLs are "
     "compared for them"},
    {"tkey rtt", "Zeek logs the TCP TKEY transaction without rtt; Tapir pairs the query (frame 7) "
     "with its response (frame 8, tshark) and reports the time between them"},
    {"case of names in answers", "Zeek lowercases names; Tapir keeps them as sent, as tshark "
     "does (dns-two-responses has WWW-CMU.ANDREW.cmu.edu): compared case-insensitively"},
    {"TKEY answers", "Zeek does not log a TKEY answer in `answers`; Tapir keeps every record"},
    {"duplicate response row", "Zeek logs the second response with query fields unset; Tapir "
     "fills them from the response's own question and flags duplicate_response"},
};

class DnsVsZeek : public ::testing::TestWithParam<ZeekCase> {};

TEST_P(DnsVsZeek, LogRowsMatch) {
  const ZeekCase& c = GetParam();
  const auto events = run_dns(c.pcap);
  auto log = load_zeek_log(corpus(c.log));
  ASSERT_TRUE(log.ok) << c.log;
  ASSERT_EQ(events.size(), log.rows.size()) << c.pcap;
  std::vector<bool> used(events.size(), false);
  for (const auto& row : log.rows) {
    SCOPED_TRACE(std::string(c.log) + " trans_id " + row.at("trans_id"));
    const v1::Dns* d = nullptr;
    for (size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i];
      if (used[i] || std::to_string(e.trans_id()) != row.at("trans_id")) continue;
      if (ip_text(e.src().ip()) != row.at("id.orig_h") ||
          std::to_string(e.src().port()) != row.at("id.orig_p") ||
          ip_text(e.dst().ip()) != row.at("id.resp_h") ||
          std::to_string(e.dst().port()) != row.at("id.resp_p"))
        continue;
      used[i] = true;
      d = &e;
      break;
    }
    ASSERT_NE(d, nullptr) << "no event for this log row";
    EXPECT_EQ(d->ip_proto(), row.at("proto") == "tcp" ? 6u : 17u);
    if (row.at("query") != "-") {
      EXPECT_EQ(lower(d->query()), row.at("query"));
    }
    if (row.at("qtype") != "-") {
      EXPECT_EQ(std::to_string(d->qtype()), row.at("qtype"));
    }
    if (row.at("rcode") != "-") {
      EXPECT_TRUE(d->has_response());
      EXPECT_EQ(std::to_string(d->rcode()), row.at("rcode"));
      EXPECT_EQ(d->rcode_name(), row.at("rcode_name"));
    } else {
      EXPECT_FALSE(d->has_response());
    }
    if (row.at("rtt") != "-") {
      const auto us = static_cast<uint64_t>(std::llround(std::stod(row.at("rtt")) * 1e6));
      EXPECT_EQ(d->rtt_us(), us);
    }
    const auto answers = row.at("answers") == "-" ? std::vector<std::string>{}
                                                   : split(row.at("answers"), ",");
    const auto ttls =
        row.at("TTLs") == "-" ? std::vector<std::string>{} : split(row.at("TTLs"), ",");
    if (!d->has_response()) continue;
    if (d->answers_size() > 0 && d->answers(0).type() == 249) continue;  // kZeekDifferences: TKEY
    ASSERT_EQ(static_cast<size_t>(d->answers_size()), answers.size());
    ASSERT_EQ(ttls.size(), answers.size());
    for (int i = 0; i < d->answers_size(); ++i) {
      const auto& a = d->answers(i);
      EXPECT_EQ(std::to_string(a.ttl()),
                std::to_string(static_cast<uint64_t>(std::llround(std::stod(ttls[i])))));
      const uint32_t t = a.type();
      if (t == type::kA || t == type::kAaaa || t == type::kCname || t == type::kNs ||
          t == type::kPtr) {
        EXPECT_EQ(lower(a.data()), answers[i]) << kZeekDifferences[2].reason;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, DnsVsZeek, ::testing::ValuesIn(kZeekCases),
                         [](const ::testing::TestParamInfo<ZeekCase>& i) {
                           std::string n = i.param.pcap;
                           n = n.substr(0, n.rfind('/'));
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

}  // namespace
}  // namespace tapir::analyzers::dns
