// ARP and ICMP analyzers through the real pipeline, against the corpus's
// tshark tables: every ARP/ICMP frame tshark shows is one event with equal
// fields (matched by capture time), and no event appears that tshark lacks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "common/ip.h"
#include "engine_run.h"
#include "oracle.h"

namespace tapir::analyzers {
namespace {

using tapir::testing::corpus;
using tapir::testing::ip_text;

int64_t event_ns(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000ll + t.nanos();
}

// "1352595620.652165000" -> nanoseconds, exactly.
int64_t tsv_ns(const std::string& s) {
  const size_t dot = s.find('.');
  std::string frac = s.substr(dot + 1);
  frac.resize(9, '0');
  return std::stoll(s.substr(0, dot)) * 1000000000ll + std::stoll(frac);
}

std::string first(const std::string& multi) { return tapir::testing::split(multi, ",").empty()
                                                   ? ""
                                                   : tapir::testing::split(multi, ",")[0]; }

std::vector<v1::Event> run(const std::string& rel, const char* analyzer, v1::Event::BodyCase t) {
  std::string err;
  auto ev = tapir::testing::run_capture(corpus(rel), {analyzer}, {t}, err);
  EXPECT_EQ(err, "") << rel;
  return ev;
}

// ---- ARP ----------------------------------------------------------------

struct Case {
  const char* pcap;
  const char* tsv;
};

const Case kArpCases[] = {
    {"suricata-verify/decode-arp-2/arp.pcap", "suricata-verify/decode-arp-2/arp.arp.tsv"},
    {"tcpdump/802.1ad_QinQ/802.1ad_QinQ.pcap", "tcpdump/802.1ad_QinQ/802.1ad_QinQ.arp.tsv"},
    {"tcpdump/arp-too-long-tha/arp-too-long-tha.pcap",
     "tcpdump/arp-too-long-tha/arp-too-long-tha.arp.tsv"},
    {"tcpdump/vxlan/vxlan.pcap", "tcpdump/vxlan/vxlan.arp.tsv"},
    {"zeek/arp-leak/arp-leak.pcap", "zeek/arp-leak/arp-leak.arp.tsv"},
    {"zeek/arp-who-has/arp-who-has.pcap", "zeek/arp-who-has/arp-who-has.arp.tsv"},
    {"zeek/q-in-q/q-in-q.pcap", "zeek/q-in-q/q-in-q.arp.tsv"},
};

// Every ARP frame tshark shows is an event. ARP of another hardware or
// protocol type, or with other address lengths (arp-too-long-tha, arp-leak),
// carries anomalies and only the addresses tshark can show too: MACs for
// 6-byte Ethernet addresses, IPv4 for 4-byte IPv4 addresses.
bool tshark_row_is_ethernet_ipv4(const std::map<std::string, std::string>& row) {
  return !row.at("arp.src.hw_mac").empty() && !row.at("arp.src.proto_ipv4").empty() &&
         !row.at("arp.dst.hw_mac").empty() && !row.at("arp.dst.proto_ipv4").empty();
}

std::string mac_or_empty(const std::string& raw) {
  return raw.empty() ? "" : mac_bytes_to_string(raw);
}

class ArpVsTshark : public ::testing::TestWithParam<Case> {};

TEST_P(ArpVsTshark, EveryMessageMatches) {
  const Case& c = GetParam();
  const auto events = run(c.pcap, "arp", v1::Event::kArp);
  auto table = tapir::testing::load_tsv(corpus(c.tsv));
  ASSERT_TRUE(table.ok);
  std::vector<bool> used(events.size(), false);
  size_t expected = 0;
  for (const auto& row : table.rows) {
    ++expected;
    SCOPED_TRACE(std::string(c.pcap) + " frame " + row.at("frame"));
    const int64_t ts = tsv_ns(row.at("time_epoch"));
    const v1::Arp* a = nullptr;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!used[i] && event_ns(events[i].arp().ts()) == ts) {
        used[i] = true;
        a = &events[i].arp();
        break;
      }
    }
    ASSERT_NE(a, nullptr) << "no Arp event at this time";
    EXPECT_EQ(std::to_string(a->opcode()), row.at("arp.opcode"));
    EXPECT_EQ(mac_or_empty(a->sender_mac()), row.at("arp.src.hw_mac"));
    EXPECT_EQ(ip_text(a->sender_ip()), row.at("arp.src.proto_ipv4"));
    EXPECT_EQ(mac_or_empty(a->target_mac()), row.at("arp.dst.hw_mac"));
    EXPECT_EQ(ip_text(a->target_ip()), row.at("arp.dst.proto_ipv4"));
    EXPECT_EQ(a->anomalies().empty(), tshark_row_is_ethernet_ipv4(row));
    EXPECT_EQ(a->op(), row.at("arp.opcode") == "1"   ? v1::ARP_REQUEST
                       : row.at("arp.opcode") == "2" ? v1::ARP_REPLY
                                                     : v1::ARP_OP_UNKNOWN);
    EXPECT_EQ(a->gratuitous(), !row.at("arp.src.proto_ipv4").empty() &&
                                   row.at("arp.src.proto_ipv4") == row.at("arp.dst.proto_ipv4"));
    if (tshark_row_is_ethernet_ipv4(row)) {
      EXPECT_EQ(a->hw_type(), 1u);
      EXPECT_EQ(a->proto_type(), 0x0800u);
      EXPECT_EQ(a->hw_len(), 6u);
      EXPECT_EQ(a->proto_len(), 4u);
    }
  }
  EXPECT_EQ(events.size(), expected) << "events that tshark does not show";
}

INSTANTIATE_TEST_SUITE_P(Corpus, ArpVsTshark, ::testing::ValuesIn(kArpCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.pcap;
                           n = n.substr(0, n.rfind('/'));
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(Arp, ReplyRttFromRequest) {
  // arp-who-has: request at .520906, reply at .526359 (tshark frame times).
  const auto ev = run("zeek/arp-who-has/arp-who-has.pcap", "arp", v1::Event::kArp);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].arp().rtt_us(), 0u);
  EXPECT_EQ(ev[1].arp().rtt_us(), 526359u - 520906u);
  // The senders' MACs are their frames' Ethernet sources here.
  for (const auto& e : ev) {
    EXPECT_FALSE(e.arp().mac_mismatch());
    EXPECT_EQ(e.arp().eth_src(), e.arp().sender_mac());
  }
}

// Zeek's bad_arp explanations for arp-leak.pcap, frame by frame, from its
// btest baseline scripts.base.protocols.arp.bad/.stdout (the corpus keeps the
// test script; the baseline is zeek/zeek testing/btest/Baseline). Zeek names
// the first problem it finds; Tapir lists every one, so Zeek's is among them.
TEST(Arp, UnusualLengthsReportedAsZeekBadArp) {
  const auto ev = run("zeek/arp-leak/arp-leak.pcap", "arp", v1::Event::kArp);
  const v1::ArpAnomaly zeek[] = {v1::ARP_BAD_HW_LEN,    v1::ARP_BAD_HW_LEN,
                                 v1::ARP_BAD_PROTO_LEN, v1::ARP_BAD_PROTO_LEN,
                                 v1::ARP_BAD_HW_LEN,    v1::ARP_BAD_HW_LEN};
  ASSERT_EQ(ev.size(), std::size(zeek));
  for (size_t i = 0; i < ev.size(); ++i) {
    SCOPED_TRACE("frame " + std::to_string(i + 1));
    const auto& an = ev[i].arp().anomalies();
    EXPECT_NE(std::find(an.begin(), an.end(), zeek[i]), an.end());
    EXPECT_EQ(ev[i].arp().hw_type(), 1u);          // Zeek: hrd=1
    EXPECT_EQ(ev[i].arp().proto_type(), 0x0800u);  // Zeek: pro=2048
    if (zeek[i] == v1::ARP_BAD_HW_LEN) {
      EXPECT_EQ(ev[i].arp().hw_len(), 255u);  // hln=255
    } else {
      EXPECT_EQ(ev[i].arp().proto_len(), 255u);  // pln=255
    }
  }
}

// tcpdump -v on arp-too-long-tha: "ARP, Unknown Hardware (12336) (len 14),
// IPv4 (len 4), Request who-has 48.48.48.48 ... tell 48.48.48.48".
TEST(Arp, UnknownHardwareTypeAsTcpdumpPrintsIt) {
  std::ifstream in(corpus("tcpdump/arp-too-long-tha/expected/arp-too-long-tha.out"));
  std::string out((std::istreambuf_iterator<char>(in)), {});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m,
                                std::regex(R"(Unknown Hardware \((\d+)\) \(len (\d+)\), IPv4 \(len (\d+)\), Request who-has ([0-9.]+) .* tell ([0-9.]+))")));
  const auto ev = run("tcpdump/arp-too-long-tha/arp-too-long-tha.pcap", "arp", v1::Event::kArp);
  ASSERT_EQ(ev.size(), 1u);
  const v1::Arp& a = ev[0].arp();
  EXPECT_EQ(std::to_string(a.hw_type()), m[1].str());
  EXPECT_EQ(std::to_string(a.hw_len()), m[2].str());
  EXPECT_EQ(std::to_string(a.proto_len()), m[3].str());
  EXPECT_EQ(ip_text(a.target_ip()), m[4].str());
  EXPECT_EQ(ip_text(a.sender_ip()), m[5].str());
  EXPECT_EQ(a.op(), v1::ARP_REQUEST);
  EXPECT_EQ(std::vector<int>(a.anomalies().begin(), a.anomalies().end()),
            std::vector<int>{v1::ARP_UNKNOWN_HW_TYPE});
  EXPECT_TRUE(a.sender_mac().empty());
  EXPECT_FALSE(a.mac_mismatch());
}

TEST(Arp, VlanTagsCarried) {
  // 802.1ad QinQ: the ARP frames carry two tags.
  const auto ev = run("tcpdump/802.1ad_QinQ/802.1ad_QinQ.pcap", "arp", v1::Event::kArp);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].arp().vlan_size(), 2);
  EXPECT_EQ(ev[1].arp().rtt_us(), 599680u - 599412u);
}

// ---- ICMP ---------------------------------------------------------------

const Case kIcmpCases[] = {
    {"suricata-verify/decode-arp-2/arp.pcap", "suricata-verify/decode-arp-2/arp.icmp.tsv"},
    {"suricata-verify/decode-teredo-01/input.pcap", "suricata-verify/decode-teredo-01/input.icmp.tsv"},
    {"tcpdump/icmpv6/icmpv6.pcap", "tcpdump/icmpv6/icmpv6.icmp.tsv"},
    {"tcpdump/ipv6-routing-header/ipv6-routing-header.pcap",
     "tcpdump/ipv6-routing-header/ipv6-routing-header.icmp.tsv"},
    {"tcpdump/vxlan/vxlan.pcap", "tcpdump/vxlan/vxlan.icmp.tsv"},
    {"zeek/icmp__icmp-ping/icmp-ping.pcap", "zeek/icmp__icmp-ping/icmp-ping.icmp.tsv"},
    {"zeek/icmp__icmp6-ping/icmp6-ping.pcap", "zeek/icmp__icmp6-ping/icmp6-ping.icmp.tsv"},
    {"zeek/tunnels__Teredo/Teredo.pcap", "zeek/tunnels__Teredo/Teredo.icmp.tsv"},
    {"zeek/tunnels__gre-sample/gre-sample.pcap", "zeek/tunnels__gre-sample/gre-sample.icmp.tsv"},
};

bool is_error_type(bool v6, uint32_t t) {
  return v6 ? (t >= 1 && t <= 4) : (t == 3 || t == 4 || t == 5 || t == 11 || t == 12);
}

class IcmpVsTshark : public ::testing::TestWithParam<Case> {};

TEST_P(IcmpVsTshark, EveryMessageMatches) {
  const Case& c = GetParam();
  const auto events = run(c.pcap, "icmp", v1::Event::kIcmp);
  auto table = tapir::testing::load_tsv(corpus(c.tsv));
  ASSERT_TRUE(table.ok);
  std::vector<bool> used(events.size(), false);
  for (const auto& row : table.rows) {
    SCOPED_TRACE(std::string(c.pcap) + " frame " + row.at("frame"));
    const bool v6 = row.at("icmp.type").empty();
    // The outermost ICMP header is the message; later values are quoted ones.
    const std::string type = first(v6 ? row.at("icmpv6.type") : row.at("icmp.type"));
    const std::string code = first(v6 ? row.at("icmpv6.code") : row.at("icmp.code"));
    const int64_t ts = tsv_ns(row.at("time_epoch"));
    const v1::Icmp* m = nullptr;
    for (size_t i = 0; i < events.size(); ++i) {
      if (!used[i] && event_ns(events[i].icmp().ts()) == ts) {
        used[i] = true;
        m = &events[i].icmp();
        break;
      }
    }
    ASSERT_NE(m, nullptr) << "no Icmp event at this time";
    EXPECT_EQ(std::to_string(m->type()), type);
    EXPECT_EQ(std::to_string(m->code()), code);
    EXPECT_EQ(m->ip_proto(), v6 ? 58u : 1u);
    EXPECT_FALSE(m->type_name().empty());
    EXPECT_FALSE(m->community_id().empty());
    // tshark's src/dst are the innermost IP layer: for an error that is the
    // quoted packet, whose destination Tapir reports as orig_dst.
    if (is_error_type(v6, m->type())) {
      EXPECT_EQ(ip_text(m->orig_dst().ip()), row.at("dst"));
      if (!row.at("dport").empty()) {
        EXPECT_EQ(std::to_string(m->orig_dst().port()), first(row.at("dport")));
      }
      EXPECT_EQ(m->orig_ip_proto(), row.at("l4") == "udp" ? 17u : row.at("l4") == "tcp" ? 6u
                                                                                          : m->orig_ip_proto());
    } else if (row.at("l4").empty()) {
      EXPECT_EQ(ip_text(m->src().ip()), row.at("src"));
      EXPECT_EQ(ip_text(m->dst().ip()), row.at("dst"));
    }
  }
  EXPECT_EQ(events.size(), table.rows.size()) << "events that tshark does not show";
}

INSTANTIATE_TEST_SUITE_P(Corpus, IcmpVsTshark, ::testing::ValuesIn(kIcmpCases),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           std::string n = i.param.pcap;
                           n = n.substr(0, n.rfind('/'));
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// Echo pairing: every reply follows its request in these captures; the RTT
// is the difference of tshark's frame times.
void expect_echo_pairs(const char* pcap, const char* tsv, uint32_t req_type, uint32_t rep_type) {
  const auto events = run(pcap, "icmp", v1::Event::kIcmp);
  auto table = tapir::testing::load_tsv(corpus(tsv));
  ASSERT_EQ(events.size(), table.rows.size());
  int pairs = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Icmp& m = events[i].icmp();
    if (m.type() == req_type) {
      EXPECT_FALSE(m.paired());
      EXPECT_EQ(m.type_name(), "echo-request");
      continue;
    }
    ASSERT_EQ(m.type(), rep_type);
    EXPECT_EQ(m.type_name(), "echo-reply");
    ASSERT_GT(i, 0u);
    const v1::Icmp& req = events[i - 1].icmp();
    EXPECT_EQ(m.echo_id(), req.echo_id());
    EXPECT_EQ(m.echo_seq(), req.echo_seq());
    EXPECT_TRUE(m.paired());
    const int64_t expect_us = (tsv_ns(table.rows[i].at("time_epoch")) -
                               tsv_ns(table.rows[i - 1].at("time_epoch"))) / 1000;
    EXPECT_EQ(static_cast<int64_t>(m.rtt_us()), expect_us);
    ++pairs;
  }
  EXPECT_GT(pairs, 0);
}

TEST(Icmp, EchoPairsV4) {
  expect_echo_pairs("zeek/icmp__icmp-ping/icmp-ping.pcap", "zeek/icmp__icmp-ping/icmp-ping.icmp.tsv",
                    8, 0);
}

TEST(Icmp, EchoPairsV6) {
  expect_echo_pairs("zeek/icmp__icmp6-ping/icmp6-ping.pcap",
                    "zeek/icmp__icmp6-ping/icmp6-ping.icmp.tsv", 128, 129);
}

TEST(Icmp, ErrorQuotesDnsQuery) {
  // gre-sample frames 34/36: port unreachable quoting the DNS query to
  // 172.28.2.3:53 (tshark's innermost layers of those frames).
  const auto events = run("zeek/tunnels__gre-sample/gre-sample.pcap", "icmp", v1::Event::kIcmp);
  int errors = 0;
  for (const auto& e : events) {
    const v1::Icmp& m = e.icmp();
    if (m.type() != 3) continue;
    ++errors;
    EXPECT_EQ(m.code(), 3u);
    EXPECT_EQ(m.type_name(), "dest-unreachable");
    EXPECT_EQ(ip_text(m.orig_dst().ip()), "172.28.2.3");
    EXPECT_EQ(m.orig_dst().port(), 53u);
    EXPECT_EQ(m.orig_ip_proto(), 17u);
    EXPECT_EQ(m.tunnel().type(), v1::TUNNEL_GRE);
  }
  EXPECT_EQ(errors, 2);
}

}  // namespace
}  // namespace tapir::analyzers
