// tapir-gen-workload: the same seed gives the same bytes, and tshark (an
// independent dissector) decodes every frame cleanly and sees exactly the
// protocol mix the generator says it wrote.
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

// Frames per checked capture: enough for every session kind to appear many
// times, small enough for tshark to read in a few seconds.
constexpr int kFrames = 20000;

// Tag bits written by --frame-tags (tools/gen_workload/workload.h).
constexpr unsigned kDns = 1, kTls = 2, kHttp = 4, kArp = 8, kIcmp = 16, kIpv6 = 32, kVlan = 64,
                   kNtp = 1024;

struct CmdResult {
  int status = -1;
  std::string out;
};

CmdResult run(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string sha256_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0)
    EVP_DigestUpdate(ctx, buf.data(), static_cast<size_t>(in.gcount()));
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  std::string hex;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

std::map<std::string, uint64_t> read_summary(const fs::path& path) {
  std::map<std::string, uint64_t> m;
  std::ifstream in(path);
  std::string k;
  uint64_t v;
  while (in >> k >> v) m[k] = v;
  return m;
}

class GenWorkload : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tapir-workload-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Generates a capture; returns its path.
  fs::path generate(const std::string& name, int frames, int seed, bool details = false) {
    fs::path out = dir_ / (name + ".pcap");
    std::string cmd = std::string(TAPIR_GEN_WORKLOAD) + " --packets " + std::to_string(frames) +
                      " --seed " + std::to_string(seed) + " --out " + out.string() +
                      " --summary " + (dir_ / (name + ".tsv")).string();
    if (details) cmd += " --frame-tags " + (dir_ / (name + ".tags")).string();
    CmdResult r = run(cmd);
    EXPECT_EQ(r.status, 0) << cmd;
    return out;
  }

  // Frames tshark shows for each display filter, in one pass over the capture
  // (io,stat; filters must not contain commas or quotes). Checksum
  // validation is on, so bad checksums show as malformed/expert errors.
  std::vector<uint64_t> tshark_counts(const fs::path& pcap, const std::vector<std::string>& filters) {
    std::string z = "io,stat,0";
    for (auto& f : filters) z += "," + f;
    CmdResult r = run("tshark -n -q -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE "
                      "-o ip.check_checksum:TRUE -r " + pcap.string() + " -z '" + z + "'");
    EXPECT_EQ(r.status, 0) << "tshark failed: " << z;
    std::vector<uint64_t> counts;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("<>") == std::string::npos) continue;
      // | 0.000 <> 3.819 |  20000 | 12815932 |    267 | 92670 | ...: frames, bytes per filter.
      std::vector<std::string> cells;
      std::istringstream split(line);
      for (std::string cell; std::getline(split, cell, '|');) cells.push_back(cell);
      // A filter containing "||" widens the header, which pads the row with blank cells.
      for (size_t i = 2; i < cells.size() && counts.size() < filters.size(); i += 2)
        counts.push_back(std::strtoull(cells[i].c_str(), nullptr, 10));
    }
    EXPECT_EQ(counts.size(), filters.size()) << r.out;
    counts.resize(filters.size());
    return counts;
  }
  uint64_t tshark_count(const fs::path& pcap, const std::string& filter) {
    return tshark_counts(pcap, {filter})[0];
  }
  // Frames in a capture as tshark reads them (io,stat prints no row for a
  // capture of zero duration).
  uint64_t tshark_frames(const fs::path& pcap) {
    CmdResult r = run("tshark -n -r " + pcap.string() + " -T fields -e frame.number");
    EXPECT_EQ(r.status, 0);
    return static_cast<uint64_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  }

  fs::path dir_;
};

TEST_F(GenWorkload, SameSeedSameBytes) {
  auto a = generate("a", 5000, 42);
  auto b = generate("b", 5000, 42);
  auto c = generate("c", 5000, 43);
  EXPECT_GT(fs::file_size(a), 5000u * 60);
  EXPECT_EQ(sha256_file(a), sha256_file(b));
  EXPECT_NE(sha256_file(a), sha256_file(c));
  EXPECT_EQ(read_summary(dir_ / "a.tsv")["packets"], 5000u);
}

// samples/mixed.pcap is documented as rebuilt byte for byte by this command.
TEST_F(GenWorkload, BundledSampleIsReproducible) {
  fs::path out = dir_ / "sample.pcap";
  CmdResult r = run(std::string(TAPIR_GEN_WORKLOAD) +
                    " --packets 500 --seed 1 --flows 24 --out " + out.string());
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(sha256_file(out), sha256_file(fs::path(TAPIR_SOURCE_DIR) / "samples/mixed.pcap"));
}

// The bytes must not depend on the compiler or optimisation level (for
// example on the unspecified order in which function arguments are
// evaluated): this hash was produced by both g++ 12 -O2 and clang 14 -O1.
// A capture of 5,000 frames holds every session kind, fragments included.
TEST_F(GenWorkload, SameBytesWhicheverCompiler) {
  auto p = generate("golden", 5000, 42);
  EXPECT_EQ(sha256_file(p), "e4113ec72bcb6fd99cdc6216d56ca04251b4ac38dbbcb9c50555aba4eb10f1b6");
  EXPECT_GT(read_summary(dir_ / "golden.tsv")["fragment_frames"], 0u);
}

TEST_F(GenWorkload, ExactFrameCountEvenForTinyCaptures) {
  for (int frames : {1, 2, 7, 1000}) {
    std::string name = "n";
    name += std::to_string(frames);
    auto p = generate(name, frames, 3);
    EXPECT_EQ(tshark_frames(p), static_cast<uint64_t>(frames)) << frames;
  }
}

TEST_F(GenWorkload, TsharkFindsNothingMalformed) {
  auto p = generate("clean", kFrames, 1);
  auto c = tshark_counts(
      p, {"frame", "_ws.malformed", "_ws.expert.severity >= error",
          // Resets are generated on purpose (aborted connections); tshark warns
          // about each one. Any other warning is a defect.
          "_ws.expert.severity == warning && !tcp.connection.rst", "tcp.connection.rst",
          // Sequence numbers and ACKs are consistent: no retransmission, lost
          // segment, out-of-order or zero-window analysis on any frame.
          "tcp.analysis.flags",
          // checksum status 0 = bad, 1 = good.
          "ip.checksum.status == 0 || tcp.checksum.status == 0 || udp.checksum.status == 0 || "
          "icmp.checksum.status == 0 || icmpv6.checksum.status == 0",
          "tcp.checksum.status == 1", "udp.checksum.status == 1"});
  EXPECT_EQ(c[0], static_cast<uint64_t>(kFrames));
  EXPECT_EQ(c[1], 0u) << "malformed";
  EXPECT_EQ(c[2], 0u) << "expert errors";
  EXPECT_EQ(c[3], 0u) << "expert warnings other than RST";
  EXPECT_GT(c[4], 0u) << "resets";
  EXPECT_EQ(c[5], 0u) << "TCP analysis flags";
  EXPECT_EQ(c[6], 0u) << "bad checksums";
  EXPECT_GT(c[7], 0u) << "good TCP checksums";
  EXPECT_GT(c[8], 0u) << "good UDP checksums";
}

TEST_F(GenWorkload, ProtocolMixMatchesTsharkFrameByFrame) {
  auto p = generate("mix", kFrames, 9, true);
  auto summary = read_summary(dir_ / "mix.tsv");
  std::vector<unsigned> tags;
  {
    std::ifstream in(dir_ / "mix.tags");
    uint64_t n;
    unsigned t;
    while (in >> n >> t) tags.push_back(t);
  }
  ASSERT_EQ(tags.size(), static_cast<size_t>(kFrames));
  CmdResult r = run("tshark -n -r " + p.string() + " -T fields -e frame.protocols");
  ASSERT_EQ(r.status, 0);
  std::istringstream lines(r.out);
  std::string line;
  struct Check {
    const char* name;
    unsigned bit;
    std::vector<std::string> tshark_names;
    const char* summary_key;
    uint64_t tshark = 0, mismatched = 0;
  };
  std::vector<Check> checks = {
      {"dns", kDns, {"dns"}, "dns_frames"},         {"tls", kTls, {"tls"}, "tls_frames"},
      {"http", kHttp, {"http"}, "http_frames"},     {"arp", kArp, {"arp"}, "arp_frames"},
      {"icmp", kIcmp, {"icmp", "icmpv6"}, "icmp_frames"}, {"ntp", kNtp, {"ntp"}, "ntp_frames"},
      {"ipv6", kIpv6, {"ipv6"}, "ipv6_frames"},    {"vlan", kVlan, {"vlan"}, "vlan_frames"},
  };
  size_t frame = 0;
  while (std::getline(lines, line) && frame < tags.size()) {
    // frame.protocols is colon-separated ("eth:ethertype:ip:tcp:tls").
    std::vector<std::string> layers;
    std::istringstream split(line);
    for (std::string layer; std::getline(split, layer, ':');) layers.push_back(layer);
    for (auto& c : checks) {
      bool theirs = std::any_of(layers.begin(), layers.end(), [&](const std::string& l) {
        return std::find(c.tshark_names.begin(), c.tshark_names.end(), l) != c.tshark_names.end();
      });
      bool mine = (tags[frame] & c.bit) != 0;
      c.tshark += theirs;
      if (theirs != mine && c.mismatched++ < 3)
        ADD_FAILURE() << c.name << ": frame " << frame + 1 << " tshark says " << line;
    }
    ++frame;
  }
  EXPECT_EQ(frame, tags.size());
  for (auto& c : checks) {
    EXPECT_EQ(c.mismatched, 0u) << c.name;
    EXPECT_EQ(c.tshark, summary[c.summary_key]) << c.name;
    EXPECT_GT(c.tshark, 0u) << c.name << " missing from the mix";
  }
  EXPECT_GT(summary["fragment_frames"], 0u);
  EXPECT_EQ(tshark_count(p, "ip.flags.mf == 1 || ip.frag_offset > 0"),
            summary["fragment_frames"]);
}

// Application content, read back by tshark's dissectors: one SNI per TLS
// handshake, one request per HTTP transaction, and the DNS variety asked for.
TEST_F(GenWorkload, ApplicationContentAsTsharkReadsIt) {
  auto p = generate("app", kFrames, 5);
  auto s = read_summary(dir_ / "app.tsv");
  std::vector<std::string> exact = {
      "tls.handshake.type == 1 && tls.handshake.extensions_server_name",
      "tls.handshake.type == 2", "http.request", "http.response", "dns.flags.response == 0",
      "dns.flags.response == 1"};
  std::vector<uint64_t> want = {s["tls_handshakes"],    s["tls_handshakes"],
                                s["http_transactions"], s["http_transactions"],
                                s["dns_transactions"],  s["dns_transactions"]};
  std::vector<std::string> present = {
      "tls.handshake.extensions_alpn_str", "tls.handshake.extensions.supported_version == 0x0304",
      "http.transfer_encoding", "dns.qry.type == 1", "dns.qry.type == 28", "dns.qry.type == 15",
      "dns.qry.type == 16", "dns.resp.type == 5", "dns.flags.rcode == 3", "dns.soa.mname",
      "tcp.port == 53 && dns", "dns.rr.udp_payload_size", "arp.opcode == 2", "arp.isgratuitous",
      "icmp.type == 3", "icmp.type == 11", "icmpv6.type == 135", "icmpv6.type == 129",
      "vlan && ipv6", "ntp.flags.mode == 4"};
  std::vector<std::string> all = exact;
  all.insert(all.end(), present.begin(), present.end());
  auto c = tshark_counts(p, all);
  for (size_t i = 0; i < exact.size(); ++i) EXPECT_EQ(c[i], want[i]) << exact[i];
  for (size_t i = 0; i < present.size(); ++i) EXPECT_GT(c[exact.size() + i], 0u) << present[i];
}

}  // namespace
