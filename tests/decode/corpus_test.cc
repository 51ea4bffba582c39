// Decodes every capture of the shared corpus and holds the result to
// independent oracles: the tshark per-frame tables (*.dns/tls/http/arp/icmp.tsv),
// the tshark malformed tables, tshark run live on the captures for
// encapsulation (VLAN ids, tunnels, outer addresses), and tcpdump's expected
// outputs for the damaged captures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "frames.h"
#include "pcap_util.h"

namespace tapir::decode {
namespace {

using testing::Capture;
using testing::corpus_captures;
using testing::decode_capture;
using testing::Frame;
namespace fs = std::filesystem;

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : s) {
    if (ch == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  out.push_back(cur);
  return out;
}

using Row = std::map<std::string, std::string>;

std::vector<Row> read_tsv(const fs::path& path) {
  std::vector<Row> rows;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return rows;
  auto head = split(line, '\t');
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto cols = split(line, '\t');
    Row r;
    for (size_t i = 0; i < head.size(); ++i) r[head[i]] = i < cols.size() ? cols[i] : "";
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string stem_of(const fs::path& p) { return p.stem().string(); }
std::string case_of(const fs::path& p) { return p.parent_path().filename().string(); }

const Frame* frame_at(const Capture& cap, int n) {
  if (n < 1 || static_cast<size_t>(n) > cap.frames.size()) return nullptr;
  return &cap.frames[n - 1];
}

std::string l4_name(const Packet& p) {
  if (!p.is_ip()) return "";
  if (p.ip_proto == ipproto::kTcp) return "tcp";
  if (p.ip_proto == ipproto::kUdp) return "udp";
  return "";
}

// Frames whose decode error is expected, with the reason taken from a peer
// tool's output. Every error the decoder reports anywhere in the corpus must
// be listed here, and every entry must be reported.
struct ExpectedError {
  const char* capture_case;
  int frame;
  DecodeError error;
  const char* evidence;
};
const ExpectedError kExpectedErrors[] = {
    {"trunc__trunc-hdr", 1, DecodeError::kTruncatedLink,
     "1-byte frame; tcpdump prints [|ether], Zeek weird truncated_ethernet_frame"},
    {"trunc__ip4-trunc", 1, DecodeError::kTruncatedIpv4,
     "6 IPv4 bytes captured; tcpdump prints [|ip], Zeek weird truncated_IP"},
    {"trunc__ip6-ext-trunc", 1, DecodeError::kTruncatedIpv6Ext,
     "hop-by-hop header not captured; tcpdump [|hbhopt], tshark malformed ipv6.hopopts"},
    {"ipv4_invalid_hdr_length", 1, DecodeError::kBadIpv4HeaderLen,
     "IHL 4; tcpdump: [header length 16 < 20] (invalid)"},
    {"tcp_header_heapoverflow", 1, DecodeError::kTruncatedTcp, "tcpdump: [|tcp]"},
    {"udp-length-heapoverflow", 1, DecodeError::kTruncatedUdp, "tcpdump: [|udp]"},
    {"ipv6_frag6_negative_len", 1, DecodeError::kBadFragment,
     "payload length 0 yet a fragment header; tcpdump: frag ... [length < 0] (invalid)"},
    {"arp-leak", 1, DecodeError::kBadArp, "hardware size 255 (tshark arp.hw.size)"},
    {"arp-leak", 2, DecodeError::kBadArp, "hardware size 255 (tshark arp.hw.size)"},
    {"arp-leak", 3, DecodeError::kBadArp, "protocol size 255 (tshark arp.proto.size)"},
    {"arp-leak", 4, DecodeError::kBadArp, "protocol size 255 (tshark arp.proto.size)"},
    {"arp-leak", 5, DecodeError::kBadArp, "both sizes 255 (tshark)"},
    {"arp-leak", 6, DecodeError::kBadArp, "both sizes 255 (tshark)"},
    {"arp-too-long-tha", 1, DecodeError::kBadArp,
     "hardware type 12336 with 14-byte addresses; tcpdump: Unknown Hardware (12336) (len 14)"},
};

TEST(DecodeCorpus, EveryCaptureDecodesAndOnlyKnownDamageIsReported) {
  auto caps = corpus_captures();
  ASSERT_GE(caps.size(), 61u) << "corpus at " << TAPIR_TESTDATA;
  std::set<std::pair<std::string, int>> seen;
  for (const auto& path : caps) {
    SCOPED_TRACE(path.string());
    Capture cap = decode_capture(path);
    ASSERT_TRUE(cap.error.empty()) << cap.error;
    ASSERT_FALSE(cap.frames.empty());
    EXPECT_EQ(cap.stats.frames, cap.frames.size());
    for (const Frame& f : cap.frames) {
      if (f.pkt.error == DecodeError::kNone) continue;
      const ExpectedError* want = nullptr;
      for (const auto& e : kExpectedErrors) {
        if (case_of(path) == e.capture_case && f.number == e.frame) want = &e;
      }
      ASSERT_NE(want, nullptr) << "frame " << f.number << ": unexpected "
                               << decode_error_name(f.pkt.error);
      EXPECT_EQ(f.pkt.error, want->error)
          << "frame " << f.number << " got " << decode_error_name(f.pkt.error) << "; "
          << want->evidence;
      seen.insert({want->capture_case, want->frame});
    }
  }
  for (const auto& e : kExpectedErrors) {
    EXPECT_TRUE(seen.count({e.capture_case, e.frame}))
        << e.capture_case << " frame " << e.frame << " should report "
        << decode_error_name(e.error) << " (" << e.evidence << ")";
  }
}

// What stays decoded in front of the damage, per tcpdump's own output.
TEST(DecodeCorpus, DamagedCapturesKeepEarlierLayers) {
  {
    Capture cap = decode_capture(testing::testdata(
        "tcpdump/tcp_header_heapoverflow/tcp_header_heapoverflow.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump: "48.48.48.48.12336 > 48.48.48.48.12336:  [|tcp]", ttl 48, id 12336, length 12336
    EXPECT_EQ(p.src_ip.to_string(), "48.48.48.48");
    EXPECT_EQ(p.dst_ip.to_string(), "48.48.48.48");
    EXPECT_EQ(p.src_port, 12336);
    EXPECT_EQ(p.dst_port, 12336);
    EXPECT_EQ(p.ttl, 48);
    EXPECT_EQ(p.ip_id, 12336);
    EXPECT_EQ(p.ip_len, 12336u);
    EXPECT_EQ(p.ip_proto, ipproto::kTcp);
    EXPECT_EQ(p.payload_len, 0u);
  }
  {
    Capture cap = decode_capture(testing::testdata(
        "tcpdump/udp-length-heapoverflow/udp-length-heapoverflow.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump: "48.48.48.48.12336 > 48.48.48.48.12336:  [|udp]"
    EXPECT_EQ(p.src_ip.to_string(), "48.48.48.48");
    EXPECT_EQ(p.src_port, 12336);
    EXPECT_EQ(p.dst_port, 12336);
    EXPECT_EQ(p.ip_proto, ipproto::kUdp);
  }
  {
    Capture cap = decode_capture(testing::testdata(
        "tcpdump/ipv6_frag6_negative_len/ipv6_frag6_negative_len.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump: "7fff:ffff:c3b2:a102:1305:80:38:2949 > 9675:86dd:7300:2c:1c7f:ffff:ffc3:b2a1", hlim 28
    EXPECT_EQ(p.src_ip.to_string(), "7fff:ffff:c3b2:a102:1305:80:38:2949");
    EXPECT_EQ(p.dst_ip.to_string(), "9675:86dd:7300:2c:1c7f:ffff:ffc3:b2a1");
    EXPECT_EQ(p.ttl, 28);
    EXPECT_EQ(p.ip_len, 40u);  // payload length 0
  }
  {
    Capture cap =
        decode_capture(testing::testdata("tcpdump/arp-too-long-tha/arp-too-long-tha.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump -e: "ethertype 802.1Q-QinQ (0x88a8) ... vlan 48, p 1, DEI, ethertype ARP",
    // "Unknown Hardware (12336) (len 14), IPv4 (len 4), Request"
    EXPECT_EQ(p.l3, L3::kArp);
    ASSERT_EQ(p.vlan_count, 1);
    EXPECT_EQ(p.vlans[0], 48);
    EXPECT_EQ(p.arp.hw_type, 12336);
    EXPECT_EQ(p.arp.proto_type, 0x0800);
    EXPECT_EQ(p.arp.opcode, 1);
  }
  {
    Capture cap = decode_capture(testing::testdata(
        "tcpdump/ipv4_invalid_hdr_length/ipv4_invalid_hdr_length.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump -e: "f0:4d:a2:3d:5d:a3 > c0:d6:82:36:03:2b, ethertype IPv4 (0x0800)"
    EXPECT_TRUE(p.has_eth);
    EXPECT_EQ(mac_to_string(p.eth_src.data()), "f0:4d:a2:3d:5d:a3");
    EXPECT_EQ(mac_to_string(p.eth_dst.data()), "c0:d6:82:36:03:2b");
    EXPECT_EQ(p.ether_type, 0x0800);
  }
  {
    Capture cap = decode_capture(testing::testdata("zeek/trunc__ip6-ext-trunc/ip6-ext-trunc.pcap"));
    ASSERT_EQ(cap.frames.size(), 1u);
    const Packet& p = cap.frames[0].pkt;
    // tcpdump: "2001:4f8:4:7:2e0:81ff:fe52:ffff > 2001:4f8:4:7:2e0:81ff:fe52:9a6b", hlim 64
    EXPECT_EQ(p.src_ip.to_string(), "2001:4f8:4:7:2e0:81ff:fe52:ffff");
    EXPECT_EQ(p.dst_ip.to_string(), "2001:4f8:4:7:2e0:81ff:fe52:9a6b");
    EXPECT_EQ(p.ttl, 64);
  }
}

// tshark's malformed tables: damage in L2-L4 must be reported by the decoder;
// damage above L4 (DNS, NTP, HTTP bodies) must not be.
TEST(DecodeCorpus, TsharkMalformedTables) {
  const std::set<std::string> lower = {"eth", "ethertype", "ip", "ipv6", "ipv6.hopopts",
                                       "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "tcp",
                                       "udp", "arp", "vlan", "icmp", "icmpv6"};
  int checked = 0;
  for (const auto& path : corpus_captures()) {
    fs::path table = path.parent_path() / (stem_of(path) + ".malformed.tsv");
    if (!fs::exists(table)) continue;
    SCOPED_TRACE(table.string());
    Capture cap = decode_capture(path);
    for (const Row& r : read_tsv(table)) {
      const Frame* f = frame_at(cap, std::stoi(r.at("frame.number")));
      ASSERT_NE(f, nullptr);
      auto protos = split(r.at("frame.protocols"), ':');
      bool low = lower.count(protos.back()) > 0;
      // Fragments: tshark flags the reassembled datagram's payload (NTP here);
      // that is above L4 and reassembly itself must have worked.
      if (low) {
        EXPECT_NE(f->pkt.error, DecodeError::kNone) << "frame " << f->number << " " << r.at("_ws.col.Info");
      } else {
        EXPECT_EQ(f->pkt.error, DecodeError::kNone)
            << "frame " << f->number << " " << decode_error_name(f->pkt.error);
        EXPECT_TRUE(f->pkt.is_tcp() || f->pkt.is_udp()) << "frame " << f->number;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 7);
}

// Where the tshark tables and Tapir deliberately describe a frame differently.
struct Difference {
  const char* name;
  const char* reason;
};
const Difference kTunnelledNonTcpUdp = {
    "non-TCP/UDP inside a UDP tunnel (VXLAN ICMP, Teredo ICMPv6)",
    "the oracle pairs the innermost TCP/UDP it finds, which is the tunnel's outer UDP; Tapir "
    "describes the inner packet and keeps the outer addresses in Packet::tunnel: those are "
    "compared instead"};
const Difference kIcmpQuote = {
    "ICMP error quoting a UDP/TCP packet (gre-sample DNS)",
    "the oracle's innermost transport is the quoted packet; Tapir describes the ICMP message "
    "and points at the quote: the quote, decoded on its own, is compared instead"};

// The oracle's innermost view (make_oracle.sh: the innermost TCP/UDP and the
// IP header in front of it, else the innermost IP) against the decoder's.
void compare_inner(const Frame& f, const Row& r, std::map<const Difference*, int>& differences) {
  const Packet& p = f.pkt;
  const std::string& l4 = r.at("l4");
  const Packet* cmp = &p;
  if (!l4.empty() && l4_name(p).empty()) {
    if (f.has_quoted && !l4_name(f.quoted).empty()) {
      ++differences[&kIcmpQuote];
      cmp = &f.quoted;
    } else {
      ASSERT_NE(p.tunnel.kind, TunnelKind::kNone) << "oracle has " << l4 << ", we have none";
      ++differences[&kTunnelledNonTcpUdp];
      EXPECT_EQ(p.tunnel.outer_src.to_string(), r.at("src"));
      EXPECT_EQ(p.tunnel.outer_dst.to_string(), r.at("dst"));
      return;
    }
  }
  EXPECT_EQ(cmp->src_ip.to_string(), r.at("src"));
  EXPECT_EQ(cmp->dst_ip.to_string(), r.at("dst"));
  EXPECT_EQ(l4_name(*cmp), l4);
  if (!l4.empty()) {
    EXPECT_EQ(std::to_string(cmp->src_port), r.at("sport"));
    EXPECT_EQ(std::to_string(cmp->dst_port), r.at("dport"));
  }
}

// Failures recorded so far in the running test: a row agrees when checking
// it added none.
int failures_so_far() {
  return ::testing::UnitTest::GetInstance()->current_test_info()->result()->total_part_count();
}

struct Agreement {
  int rows = 0, equal = 0;
  double percent() const { return rows == 0 ? 100.0 : 100.0 * equal / rows; }
};

TEST(DecodeCorpus, TsharkPerFrameTables) {
  std::map<const Difference*, int> differences;
  std::map<std::string, Agreement> per_kind;
  int rows = 0;
  for (const auto& path : corpus_captures()) {
    Capture cap;
    bool loaded = false;
    for (const char* kind : {"dns", "tls", "http", "arp", "icmp"}) {
      fs::path table = path.parent_path() / (stem_of(path) + "." + kind + ".tsv");
      if (!fs::exists(table)) continue;
      if (!loaded) {
        cap = decode_capture(path);
        loaded = true;
      }
      SCOPED_TRACE(table.string());
      Agreement here;
      for (const Row& r : read_tsv(table)) {
        int n = std::stoi(r.at("frame"));
        SCOPED_TRACE("frame " + std::to_string(n));
        const Frame* f = frame_at(cap, n);
        ASSERT_NE(f, nullptr);
        const Packet& p = f->pkt;
        ++rows;
        ++here.rows;
        const int before = failures_so_far();
        // Counted when the row's checks below are done, however they end.
        struct Tally {
          Agreement& a;
          int before;
          bool named = false;
          ~Tally() {
            if (!named && failures_so_far() == before) ++a.equal;
          }
        } tally{here, before};
        if (std::string(kind) == "arp") {
          ASSERT_EQ(p.l3, L3::kArp);
          EXPECT_EQ(std::to_string(p.arp.opcode), r.at("arp.opcode"));
          // Other types or lengths (arp-too-long-tha, arp-leak) are flagged
          // kBadArp and keep the addresses whose form is known, as tshark
          // shows them: MACs for 6-byte Ethernet, IPv4 for 4-byte IPv4.
          const bool full = !r.at("arp.src.hw_mac").empty() && !r.at("arp.src.proto_ipv4").empty();
          EXPECT_EQ(p.error == DecodeError::kBadArp, !full);
          auto mac = [&](const MacAddr& m) {
            return p.arp.has_macs ? mac_to_string(m.data()) : std::string();
          };
          auto ip = [](const IpAddr& a) { return a.empty() ? std::string() : a.to_string(); };
          EXPECT_EQ(mac(p.arp.sender_mac), r.at("arp.src.hw_mac"));
          EXPECT_EQ(mac(p.arp.target_mac), r.at("arp.dst.hw_mac"));
          EXPECT_EQ(ip(p.arp.sender_ip), r.at("arp.src.proto_ipv4"));
          EXPECT_EQ(ip(p.arp.target_ip), r.at("arp.dst.proto_ipv4"));
          continue;
        }
        if (std::string(kind) == "icmp") {
          bool v6 = !r.at("icmpv6.type").empty();
          EXPECT_EQ(p.ip_proto, v6 ? ipproto::kIcmpv6 : ipproto::kIcmp);
          EXPECT_EQ(std::to_string(p.icmp.type), r.at(v6 ? "icmpv6.type" : "icmp.type"));
          EXPECT_EQ(std::to_string(p.icmp.code), r.at(v6 ? "icmpv6.code" : "icmp.code"));
        }
        EXPECT_EQ(p.error, DecodeError::kNone) << decode_error_name(p.error);
        compare_inner(*f, r, differences);
      }
      std::printf("agreement %s: %d/%d rows (%.1f %%)\n",
                  fs::relative(table, TAPIR_TESTDATA).c_str(), here.equal, here.rows,
                  here.percent());
      per_kind[kind].rows += here.rows;
      per_kind[kind].equal += here.equal;
    }
  }
  EXPECT_GE(rows, 200);
  for (const auto& [d, count] : differences) {
    std::printf("deliberate difference x%d: %s -- %s\n", count, d->name, d->reason);
  }
  // Per oracle table kind over the corpus. The tunnel and ICMP-quote rows are
  // compared on the fields both sides describe, and agree.
  for (const auto& [kind, a] : per_kind) {
    std::printf("agreement %s tables: %d/%d rows (%.2f %%)\n", kind.c_str(), a.equal, a.rows,
                a.percent());
    EXPECT_GE(a.percent(), 99.5) << kind;
  }
}

// tshark, run on every capture, for what the tables do not carry: VLAN ids,
// tunnel kind and outer addresses, VXLAN VNI and GRE key.
struct SharkFrame {
  std::string protocols;
  std::vector<std::string> vlan_ids, ad_ids, ip_src, ip_dst, ip6_src, ip6_dst, vni, gre_key;
  std::vector<std::string> tcp_sport, tcp_dport, udp_sport, udp_dport, geneve_vni, erspan_span;
};

std::vector<SharkFrame> run_tshark(const fs::path& path) {
  std::string cmd = "tshark -n -r '" + path.string() +
                    "' -T fields -E separator=/t -E occurrence=a -E aggregator=, "
                    "-e frame.protocols -e vlan.id -e ieee8021ad.id -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst "
                    "-e vxlan.vni -e gre.key -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport "
                    "-e geneve.vni -e erspan.spanid 2>/dev/null";
  std::vector<SharkFrame> out;
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return out;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  pclose(f);
  std::istringstream in(text);
  std::string line;
  auto list = [](const std::string& s) {
    return s.empty() ? std::vector<std::string>{} : split(s, ',');
  };
  while (std::getline(in, line)) {
    auto c = split(line, '\t');
    c.resize(15);
    out.push_back({c[0], list(c[1]), list(c[2]), list(c[3]), list(c[4]), list(c[5]), list(c[6]),
                   list(c[7]), list(c[8]), list(c[9]), list(c[10]), list(c[11]), list(c[12]),
                   list(c[13]), list(c[14])});
  }
  return out;
}

// make_oracle.sh's rule, on tshark's live output: pair each TCP/UDP with the
// IP header in front of it; the innermost pair wins, else the innermost IP.
Row inner_row(const SharkFrame& s) {
  Row r{{"src", ""}, {"dst", ""}, {"l4", ""}, {"sport", ""}, {"dport", ""}};
  size_t n4 = 0, n6 = 0, nt = 0, nu = 0;
  std::string src, dst;
  auto at = [](const std::vector<std::string>& v, size_t i) { return i < v.size() ? v[i] : ""; };
  for (const auto& t : split(s.protocols, ':')) {
    if (t == "ip") {
      src = at(s.ip_src, n4);
      dst = at(s.ip_dst, n4++);
    } else if (t == "ipv6") {
      src = at(s.ip6_src, n6);
      dst = at(s.ip6_dst, n6++);
    } else if (t == "tcp" || t == "udp") {
      bool tcp = t == "tcp";
      size_t& k = tcp ? nt : nu;
      r["l4"] = t;
      r["sport"] = at(tcp ? s.tcp_sport : s.udp_sport, k);
      r["dport"] = at(tcp ? s.tcp_dport : s.udp_dport, k++);
      r["src"] = src;
      r["dst"] = dst;
      continue;
    } else {
      continue;
    }
    if (r["l4"].empty()) {
      r["src"] = src;
      r["dst"] = dst;
    }
  }
  return r;
}

TunnelKind tunnel_from_protocols(const std::string& protos) {
  auto t = split(protos, ':');
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == "vxlan") return TunnelKind::kVxlan;
    if (t[i] == "geneve") return TunnelKind::kGeneve;
    if (t[i] == "teredo") return TunnelKind::kTeredo;
    if (t[i] == "gre" && i + 1 < t.size() && t[i + 1] == "erspan") return TunnelKind::kErspan;
    if (t[i] == "gre") return i > 0 && t[i - 1] == "udp" ? TunnelKind::kGreInUdp : TunnelKind::kGre;
    if ((t[i] == "ip" || t[i] == "ipv6") && i + 1 < t.size() &&
        (t[i + 1] == "ip" || t[i + 1] == "ipv6")) {
      return TunnelKind::kIpInIp;
    }
  }
  return TunnelKind::kNone;
}

TEST(DecodeCorpus, EncapsulationMatchesTshark) {
  if (std::system("tshark -v >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed";
  std::map<TunnelKind, int> tunnels;
  int vlan_frames = 0;
  // tshark costs about a second per capture on this machine: it runs on the
  // captures whose manifest topic names an encapsulation, and on any capture
  // in which the decoder itself found a VLAN tag or a tunnel.
  std::set<std::string> topical;
  for (const Row& r : read_tsv(fs::path(TAPIR_TESTDATA) / "MANIFEST.tsv")) {
    std::string topic = r.at("topic");
    for (auto& ch : topic) ch = static_cast<char>(std::tolower(ch));
    for (const char* word : {"vlan", "qinq", "gre", "vxlan", "teredo", "tunnel", "mpls", "802.1"}) {
      if (topic.find(word) != std::string::npos) topical.insert(r.at("local"));
    }
  }
  int shark_runs = 0;
  int inner_frames = 0;
  std::map<const Difference*, int> differences;
  for (const auto& path : corpus_captures()) {
    SCOPED_TRACE(path.string());
    Capture cap = decode_capture(path);
    std::string rel = fs::relative(path, TAPIR_TESTDATA).string();
    bool found = false;
    for (const Frame& f : cap.frames) {
      found = found || f.pkt.vlan_count > 0 || f.pkt.tunnel.kind != TunnelKind::kNone;
    }
    if (!found && !topical.count(rel)) continue;
    ++shark_runs;
    auto shark = run_tshark(path);
    ASSERT_EQ(shark.size(), cap.frames.size());
    for (size_t i = 0; i < shark.size(); ++i) {
      const SharkFrame& s = shark[i];
      const Packet& p = cap.frames[i].pkt;
      SCOPED_TRACE("frame " + std::to_string(i + 1) + " " + s.protocols);
      if (p.error != DecodeError::kNone) continue;  // covered by the damage tests
      if (p.is_ip() || cap.frames[i].status == DecodeStatus::kHeld) {
        compare_inner(cap.frames[i], inner_row(s), differences);
        ++inner_frames;
      }
      std::vector<std::string> ours;
      for (int v = 0; v < p.vlan_count; ++v) ours.push_back(std::to_string(p.vlans[v]));
      // Tag ids in frame order: 802.1ad (S-tag) and 802.1Q layers interleave.
      std::vector<std::string> theirs;
      size_t q = 0, ad = 0;
      for (const auto& t : split(s.protocols, ':')) {
        if (t == "vlan" && q < s.vlan_ids.size()) theirs.push_back(s.vlan_ids[q++]);
        if (t == "ieee8021ad" && ad < s.ad_ids.size()) theirs.push_back(s.ad_ids[ad++]);
      }
      EXPECT_EQ(ours, theirs);
      if (!ours.empty()) ++vlan_frames;
      TunnelKind want = tunnel_from_protocols(s.protocols);
      // An ICMP error quoting an IP packet is not a tunnel (ip:icmp:ip).
      if (p.ip_proto == ipproto::kIcmp || p.ip_proto == ipproto::kIcmpv6) {
        if (want == TunnelKind::kNone || p.tunnel.kind == TunnelKind::kNone) {
          if (s.protocols.find("icmp:ip") != std::string::npos) want = p.tunnel.kind;
        }
      }
      EXPECT_EQ(static_cast<int>(p.tunnel.kind), static_cast<int>(want));
      if (want == TunnelKind::kNone) continue;
      ++tunnels[want];
      // The outer addresses are the first IP header's.
      std::string outer_src = !s.ip_src.empty() ? s.ip_src[0] : s.ip6_src.at(0);
      std::string outer_dst = !s.ip_dst.empty() ? s.ip_dst[0] : s.ip6_dst.at(0);
      if (s.protocols.rfind("eth:ethertype:ipv6", 0) == 0) {
        outer_src = s.ip6_src.at(0);
        outer_dst = s.ip6_dst.at(0);
      }
      EXPECT_EQ(p.tunnel.outer_src.to_string(), outer_src);
      EXPECT_EQ(p.tunnel.outer_dst.to_string(), outer_dst);
      if (want == TunnelKind::kVxlan) {
        EXPECT_EQ(std::to_string(p.tunnel.id), s.vni.at(0));
      }
      if ((want == TunnelKind::kGre || want == TunnelKind::kGreInUdp) && !s.gre_key.empty()) {
        EXPECT_EQ(p.tunnel.id, std::stoul(s.gre_key.at(0), nullptr, 0));  // tshark prints hex
      }
    }
  }
  EXPECT_GT(tunnels[TunnelKind::kVxlan], 0);
  EXPECT_GT(tunnels[TunnelKind::kGre], 0);
  EXPECT_GT(tunnels[TunnelKind::kGreInUdp], 0);
  EXPECT_GT(tunnels[TunnelKind::kTeredo], 0);
  EXPECT_GT(vlan_frames, 0);
  EXPECT_GE(shark_runs, 12);
  EXPECT_GT(inner_frames, 300);
  for (const auto& [d, count] : differences) {
    std::printf("deliberate difference x%d: %s -- %s\n", count, d->name, d->reason);
  }
}

// Layers the corpus has no capture for (SLL, SLL2, NULL, LOOP, raw IP, MPLS,
// GRE with key / Ethernet / ERSPAN, IP-in-IP, IPv6 extension headers, SNAP):
// hand-built frames written to pcap files, decoded, and held to tshark.
void write_pcap(const fs::path& path, int dlt, const std::vector<testing::Buf>& frames) {
  pcap_t* dead = pcap_open_dead(dlt, 65535);
  ASSERT_NE(dead, nullptr);
  pcap_dumper_t* dump = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dump, nullptr) << pcap_geterr(dead);
  int i = 0;
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = 1700000000 + i++;
    h.caplen = h.len = static_cast<bpf_u_int32>(f.size());
    pcap_dump(reinterpret_cast<u_char*>(dump), &h, f.data());
  }
  pcap_dump_close(dump);
  pcap_close(dead);
}

TEST(DecodeSynthetic, HandBuiltCapturesMatchTshark) {
  using namespace testing;  // NOLINT: frame builders
  if (std::system("tshark -v >/dev/null 2>&1") != 0) GTEST_SKIP() << "tshark not installed";
  V4 a;
  V4 tcp4 = a;
  tcp4.proto = 6;
  V6 u6;
  V6 t6;
  t6.nh = 6;
  auto with_proto = [](V4 v, uint8_t proto) {
    v.proto = proto;
    v.src[3] = 77;
    v.dst[3] = 88;
    return v;
  };
  Buf udp4 = ipv4(a, udp(1111, 53, bytes(12)));
  Buf seg6 = ipv6(t6, tcp(2222, 443, tcpflag::kSyn, {}));
  Buf inner_eth = eth(0x0800, ipv4(tcp4, tcp(3333, 22, tcpflag::kAck, bytes(4))));
  V6 ext;
  ext.nh = 0;
  std::vector<Buf> ether = {
      eth(0x8847, cat({be32(0x00010000), be32(0x00020100), udp4})),
      eth(0x0800, ipv4(with_proto(a, 47), cat({be16(0x2000), be16(0x0800), be32(99), udp4}))),
      eth(0x0800, ipv4(with_proto(a, 47), cat({be16(0), be16(0x6558), inner_eth}))),
      eth(0x0800, ipv4(with_proto(a, 47),
                       cat({be16(0x1000), be16(0x88be), be32(1), be32(0x10000001), be32(0),
                            inner_eth}))),
      // ERSPAN type I (no GRE sequence), type III (session 300, Ethernet, with
      // the platform subheader), VXLAN and Geneve with the port as source port.
      eth(0x0800, ipv4(with_proto(a, 47), cat({be16(0), be16(0x88be), inner_eth}))),
      eth(0x0800, ipv4(with_proto(a, 47),
                       cat({be16(0x1000), be16(0x22eb), be32(2), be32(0x20000000 | 300),
                            be32(0x01020304), be16(0), Buf{0x00, 0x01}, bytes(8, 0), inner_eth}))),
      eth(0x0800, ipv4(with_proto(a, 17),
                       udp(4789, 40001, cat({Buf{0x08, 0, 0, 0}, be32(0x00003400), inner_eth})))),
      eth(0x0800, ipv4(with_proto(a, 17),
                       udp(40002, 6081, cat({Buf{0x01, 0}, be16(0x6558), be32(0x00abcd00),
                                             bytes(4, 0), inner_eth})))),
      eth(0x0800, ipv4(with_proto(a, 17),
                       udp(6081, 40003, cat({Buf{0x00, 0}, be16(0x0800), be32(0x00000900),
                                             ipv4(tcp4, tcp(5, 6, 0, {}))})))),
      eth(0x0800, ipv4(with_proto(a, 4), udp4)),
      eth(0x0800, ipv4(with_proto(a, 41), seg6)),
      eth(0x86dd, ipv6(ext, cat({ext8(60), ext8(17), udp(5000, 5001, bytes(3))}))),
      eth(0x88a8, cat({vlan_tag(10, 0x8100), vlan_tag(20, 0x86dd), seg6})),
      eth(0x0800, ipv4(with_proto(a, 17),
                       udp(40000, 4789, cat({Buf{0x08, 0, 0, 0}, be32(0x00001200),
                                             eth(0x8100, cat({vlan_tag(5, 0x0800),
                                                              ipv4(tcp4, tcp(1, 2, 0, {}))}))})))),
      eth(static_cast<uint16_t>(8 + udp4.size()),
          cat({Buf{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00}, udp4})),
  };
  Buf sll_v4 = cat({be16(0), be16(1), be16(6), bytes(8, 0), be16(0x0800), udp4});
  Buf sll_v6 = cat({be16(4), be16(1), be16(6), bytes(8, 0), be16(0x86dd), seg6});
  Buf sll2_v4 = cat({be16(0x0800), be16(0), be32(1), be16(1), Buf{0, 6}, bytes(8, 0), udp4});
  Buf sll2_v6 = cat({be16(0x86dd), be16(0), be32(1), be16(1), Buf{4, 6}, bytes(8, 0), seg6});
  struct File {
    const char* name;
    int dlt;
    std::vector<Buf> frames;
  };
  std::vector<File> files = {
      {"ether", DLT_EN10MB, ether},
      {"sll", DLT_LINUX_SLL, {sll_v4, sll_v6}},
      {"sll2", DLT_LINUX_SLL2, {sll2_v4, sll2_v6}},
      {"null", DLT_NULL, {cat({Buf{2, 0, 0, 0}, udp4}), cat({Buf{30, 0, 0, 0}, seg6})}},
      {"loop", DLT_LOOP, {cat({Buf{0, 0, 0, 2}, udp4}), cat({Buf{0, 0, 0, 24}, seg6})}},
      {"raw", DLT_RAW, {udp4, seg6}},
  };
  fs::path dir = fs::path(TAPIR_BINARY_DIR) / "decode_synthetic";
  fs::create_directories(dir);
  std::map<const Difference*, int> differences;
  int compared = 0;
  for (const File& file : files) {
    SCOPED_TRACE(file.name);
    fs::path path = dir / (std::string(file.name) + ".pcap");
    write_pcap(path, file.dlt, file.frames);
    Capture cap = decode_capture(path);
    ASSERT_TRUE(cap.error.empty()) << cap.error;
    auto shark = run_tshark(path);
    ASSERT_EQ(shark.size(), cap.frames.size());
    for (size_t i = 0; i < shark.size(); ++i) {
      const SharkFrame& s = shark[i];
      const Frame& f = cap.frames[i];
      SCOPED_TRACE("frame " + std::to_string(i + 1) + " " + s.protocols);
      EXPECT_EQ(f.pkt.error, DecodeError::kNone) << decode_error_name(f.pkt.error);
      compare_inner(f, inner_row(s), differences);
      EXPECT_EQ(static_cast<int>(f.pkt.tunnel.kind),
                static_cast<int>(tunnel_from_protocols(s.protocols)));
      std::vector<std::string> ours;
      for (int v = 0; v < f.pkt.vlan_count; ++v) ours.push_back(std::to_string(f.pkt.vlans[v]));
      std::vector<std::string> theirs;
      size_t q = 0, ad = 0;
      for (const auto& t : split(s.protocols, ':')) {
        if (t == "vlan" && q < s.vlan_ids.size()) theirs.push_back(s.vlan_ids[q++]);
        if (t == "ieee8021ad" && ad < s.ad_ids.size()) theirs.push_back(s.ad_ids[ad++]);
      }
      EXPECT_EQ(ours, theirs);
      if (!s.gre_key.empty()) {
        EXPECT_EQ(f.pkt.tunnel.id, std::stoul(s.gre_key[0], nullptr, 0));  // tshark prints hex
      }
      if (!s.vni.empty()) {
        EXPECT_EQ(std::to_string(f.pkt.tunnel.id), s.vni[0]);
      }
      if (!s.geneve_vni.empty()) {
        EXPECT_EQ(f.pkt.tunnel.id, std::stoul(s.geneve_vni[0], nullptr, 0));
      }
      if (!s.erspan_span.empty()) {
        EXPECT_EQ(std::to_string(f.pkt.tunnel.id), s.erspan_span[0]);
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 25);
}

TEST(DecodeCorpus, Ipv4FragmentsReassembled) {
  // tshark: frames 1-2 are fragments of id 0xf2; frame 3 completes the
  // datagram (ip.reassembled.length 164, udp.srcport 123); Zeek reports
  // fragment_size_inconsistency and fragment_inconsistency on it.
  Capture cap = decode_capture(testing::testdata("zeek/ipv4__fragmented-1/fragmented-1.pcap"));
  ASSERT_EQ(cap.frames.size(), 3u);
  EXPECT_EQ(cap.frames[0].status, DecodeStatus::kHeld);
  EXPECT_EQ(cap.frames[1].status, DecodeStatus::kHeld);
  ASSERT_EQ(cap.frames[2].status, DecodeStatus::kOk);
  const Packet& p = cap.frames[2].pkt;
  EXPECT_TRUE(p.reassembled);
  EXPECT_EQ(p.ip_len, 20u + 164u);
  EXPECT_EQ(p.src_ip.to_string(), "164.1.123.163");
  EXPECT_EQ(p.dst_ip.to_string(), "164.1.123.61");
  EXPECT_EQ(p.ip_proto, ipproto::kUdp);
  EXPECT_EQ(p.src_port, 123);
  EXPECT_EQ(cap.stats.fragments, 3u);
  EXPECT_EQ(cap.stats.reassembled, 1u);
  EXPECT_GE(cap.stats.errors[static_cast<size_t>(DecodeError::kFragmentOverlap)], 1u);
}

TEST(DecodeCorpus, Ipv6FragmentsReassembled) {
  // tshark: frame 8 completes a 3-fragment datagram (ipv6.reassembled.length
  // 3238, udp.length 3238), a DNS answer from port 53.
  Capture cap =
      decode_capture(testing::testdata("zeek/ipv6-fragmented-dns/ipv6-fragmented-dns.pcap"));
  ASSERT_EQ(cap.frames.size(), 8u);
  EXPECT_EQ(cap.frames[5].status, DecodeStatus::kHeld);
  EXPECT_EQ(cap.frames[6].status, DecodeStatus::kHeld);
  const Packet& p = cap.frames[7].pkt;
  ASSERT_EQ(cap.frames[7].status, DecodeStatus::kOk);
  EXPECT_TRUE(p.reassembled);
  EXPECT_EQ(p.ip_proto, ipproto::kUdp);
  EXPECT_EQ(p.payload_wire_len, 3238u - 8u);
  EXPECT_EQ(p.payload_len, 3238u - 8u);
  EXPECT_EQ(p.src_port, 53);
  EXPECT_EQ(cap.stats.reassembled, 1u);
}

}  // namespace
}  // namespace tapir::decode
