// `tapir decode` as a user runs it: the built binary on corpus captures.
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schema/json.h"
#include "support/files.h"
#include "tapir/v1/events.pb.h"

namespace {

using nlohmann::json;

const std::string kData = TAPIR_TESTDATA;
const std::string kTapir = std::string(TAPIR_BINARY_DIR) + "/apps/tapir/tapir";

struct Result {
  int code = -1;
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) { return tapir::testing::read_file(path); }

std::string temp_dir() { return tapir::testing::temp_dir("cli"); }

Result tapir(const std::string& args) {
  static const std::string dir = temp_dir();
  const std::string cmd =
      kTapir + " " + args + " >" + dir + "/out 2>" + dir + "/err </dev/null";
  const int st = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(dir + "/out");
  r.err = slurp(dir + "/err");
  return r;
}

std::vector<json> lines(const std::string& out) {
  std::vector<json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    json j;
    EXPECT_NO_THROW(j = json::parse(line)) << line;
    EXPECT_TRUE(j.is_object() && j.size() == 1) << line;
    v.push_back(j);
  }
  return v;
}

std::map<std::string, int> count_types(const std::vector<json>& v) {
  std::map<std::string, int> m;
  for (const auto& j : v) ++m[j.begin().key()];
  return m;
}

// Query names in a tshark-derived .dns.tsv (column dns.qry.name).
std::set<std::string> tshark_queries(const std::string& tsv) {
  std::ifstream in(tsv);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> head;
  {
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) head.push_back(c);
  }
  size_t col = 0;
  while (col < head.size() && head[col] != "dns.qry.name") ++col;
  std::set<std::string> names;
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string c;
    for (size_t i = 0; i <= col && std::getline(ss, c, '\t'); ++i) {
    }
    if (!c.empty()) names.insert(c);
  }
  return names;
}

uint64_t summary_value(const std::string& err, const std::string& key) {
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string k;
    uint64_t v = 0;
    if (ls >> k >> v && k == key) return v;
  }
  return UINT64_MAX;
}

TEST(CliDecode, JsonLinesParseAndDnsQueriesMatchTshark) {
  for (const char* c : {"tcpdump/dns_udp/dns_udp", "suricata-verify/dns__dns-udp-eve-txt/input",
                        "zeek/dns__tkey/tkey"}) {
    SCOPED_TRACE(c);
    const std::string base = kData + "/" + c;
    const Result r = tapir("decode -q " + base + ".pcap");
    ASSERT_EQ(r.code, 0) << r.err;
    std::set<std::string> ours;
    for (const auto& j : lines(r.out))
      if (j.contains("dns") && j["dns"].contains("query")) ours.insert(j["dns"]["query"]);
    EXPECT_EQ(ours, tshark_queries(base + ".dns.tsv"));
  }
}

TEST(CliDecode, TypesSelectEventTypes) {
  const std::string pcap = kData + "/zeek/dns__tkey/tkey.pcap";
  const auto all = count_types(lines(tapir("decode -q " + pcap).out));
  ASSERT_EQ(all.at("dns"), 1);
  ASSERT_EQ(all.at("flow"), 1);
  const auto dns = count_types(lines(tapir("decode -q --types dns " + pcap).out));
  EXPECT_EQ(dns, (std::map<std::string, int>{{"dns", 1}}));
  const auto flow = count_types(lines(tapir("decode -q --types flow " + pcap).out));
  EXPECT_EQ(flow, (std::map<std::string, int>{{"flow", 1}}));
  const Result bad = tapir("decode -q --types flow,bogus " + pcap);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown event type 'bogus'"), std::string::npos) << bad.err;
  EXPECT_TRUE(bad.out.empty());
}

TEST(CliDecode, AnalyzerSelection) {
  const std::string pcap = kData + "/zeek/dns__tkey/tkey.pcap";
  const auto t = count_types(lines(tapir("decode -q --analyzers arp,icmp " + pcap).out));
  EXPECT_EQ(t.count("dns"), 0u);
  EXPECT_EQ(t.at("flow"), 1);
  const Result bad = tapir("decode -q --analyzers nosuch " + pcap);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("unknown analyzer 'nosuch'"), std::string::npos) << bad.err;
}

TEST(CliDecode, ProtobufOutputRoundTrips) {
  for (const char* c : {"zeek/dns__tkey/tkey.pcap", "tcpdump/vxlan/vxlan.pcap",
                        "suricata-verify/ja4-tls/input.pcap"}) {
    SCOPED_TRACE(c);
    const std::string pcap = kData + "/" + c;
    const std::string dir = temp_dir();
    const Result j = tapir("decode -q --packet-sampling 1 " + pcap);
    const Result p = tapir("decode -q --packet-sampling 1 --format pb -o " + dir + "/ev.pb " + pcap);
    ASSERT_EQ(j.code, 0) << j.err;
    ASSERT_EQ(p.code, 0) << p.err;
    const int fd = open((dir + "/ev.pb").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    google::protobuf::io::FileInputStream in(fd);
    in.SetCloseOnDelete(true);
    std::vector<std::string> from_pb;
    tapir::v1::Event e;
    bool clean_eof = false;
    // ParseDelimited merges into the message, so each event starts from a clear one.
    while ((e.Clear(), google::protobuf::util::ParseDelimitedFromZeroCopyStream(&e, &in,
                                                                                 &clean_eof)))
      from_pb.push_back(tapir::schema::to_json(e) + "\n");
    EXPECT_TRUE(clean_eof);
    std::string joined;
    for (const auto& s : from_pb) joined += s;
    EXPECT_GT(from_pb.size(), 2u);
    EXPECT_EQ(joined, j.out);
  }
}

TEST(CliDecode, SummaryCounts) {
  const std::string pcap = kData + "/tcpdump/vxlan/vxlan.pcap";
  const std::string dir = temp_dir();
  const Result r = tapir("decode -q --summary --packet-sampling 2 -o " + dir + "/o.json " + pcap);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ev = lines(slurp(dir + "/o.json"));
  EXPECT_EQ(summary_value(r.err, "packets"), 10u);  // MANIFEST and tshark: 10 frames
  EXPECT_EQ(summary_value(r.err, "events"), ev.size());
  for (const auto& [type, n] : count_types(ev))
    EXPECT_EQ(summary_value(r.err, type), static_cast<uint64_t>(n)) << type << "\n" << r.err;
  EXPECT_NE(r.err.find("packets/s"), std::string::npos);
}

TEST(CliDecode, PacketSampling) {
  const std::string pcap = kData + "/zeek/dns__tkey/tkey.pcap";  // 12 IPv4 frames
  EXPECT_EQ(lines(tapir("decode -q --types packet --packet-sampling 1 " + pcap).out).size(), 12u);
  const auto third = lines(tapir("decode -q --types packet --packet-sampling 3 " + pcap).out);
  ASSERT_EQ(third.size(), 4u);
  EXPECT_EQ(third[0]["packet"]["sampling_rate"], 3);
  EXPECT_EQ(third[0]["packet"]["layers"], "eth/ipv4/tcp");
  EXPECT_TRUE(lines(tapir("decode -q --types packet " + pcap).out).empty());
}

TEST(CliDecode, DamagedFileEmitsWhatItCanThenFails) {
  const std::string data = slurp(kData + "/zeek/dns__tkey/tkey.pcap");
  // Record boundaries of the classic pcap (24-byte file header, 16-byte record headers).
  std::vector<size_t> offs;
  for (size_t off = 24; off + 16 <= data.size();) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + off);
    offs.push_back(off);
    off += 16 + (p[8] | (p[9] << 8) | (p[10] << 16) | (static_cast<uint32_t>(p[11]) << 24));
  }
  ASSERT_EQ(offs.size(), 12u);
  const std::string path = temp_dir() + "/cut.pcap";
  {
    std::ofstream out(path, std::ios::binary);
    out << data.substr(0, offs[7] + 20);
  }
  const Result r = tapir("decode -q --summary " + path);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("tapir: " + path + ": "), std::string::npos) << r.err;
  EXPECT_EQ(summary_value(r.err, "packets"), 7u);
  const auto ev = lines(r.out);
  ASSERT_EQ(ev.size(), 2u);  // the flow (ended at shutdown) and its DNS query
  for (const auto& j : ev) {
    if (!j.contains("flow")) continue;
    EXPECT_EQ(j["flow"]["src_packets"].get<int>() + j["flow"]["dst_packets"].get<int>(), 7);
    EXPECT_EQ(j["flow"]["end_reason"], "END_SHUTDOWN");
  }
}

TEST(CliDecode, BadFileAmongGoodOnes) {
  const std::string good = kData + "/zeek/dns__tkey/tkey.pcap";
  const Result r = tapir("decode -q /nonexistent/a.pcap " + good);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("tapir: /nonexistent/a.pcap: ", 0), 0u) << r.err;
  EXPECT_EQ(count_types(lines(r.out)).at("dns"), 1);
}

TEST(CliDecode, FlowTimeoutOption) {
  const std::string pcap = kData + "/zeek/dns__tkey/tkey.pcap";
  EXPECT_EQ(tapir("decode -q --flow-timeout tcp=10,udp=5 " + pcap).code, 0);
  const Result bad = tapir("decode -q --flow-timeout tcp=x " + pcap);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--flow-timeout"), std::string::npos);
}

}  // namespace
