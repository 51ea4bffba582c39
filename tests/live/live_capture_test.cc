// Live capture on the loopback interface: a local dnsmasq answers dig's
// queries and ping talks to 127.0.0.1 while Tapir's libpcap source captures
// on `lo` with a BPF filter and feeds the whole engine. The frames are also
// written to a pcap file so tshark can serve as the oracle. Only loopback
// traffic is generated.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "capture/source.h"
#include "common/ip.h"
#include "export/memory_sink.h"
#include "pipeline/engine.h"
#include "support/process.h"

extern char** environ;

namespace tapir {
namespace {

// An address of 127/8 that nothing else on a test machine uses, so the
// capture filter sees only this test's DNS traffic.
constexpr const char* kDnsAddr = "127.0.53.53";

std::string run(const std::string& cmd) { return testing::sh(cmd); }

bool have(const char* tool) {
  return std::system((std::string("command -v ") + tool + " >/dev/null 2>&1").c_str()) == 0;
}

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return -1;
  return pid;
}

// Minimal pcap writer (classic format, nanosecond magic) for the oracle copy.
class PcapWriter {
 public:
  PcapWriter(const std::string& path, uint32_t linktype) : out_(path, std::ios::binary) {
    put32(0xa1b23c4d);
    put16(2);
    put16(4);
    put32(0);
    put32(0);
    put32(262144);
    put32(linktype);
  }
  void write(const decode::RawFrame& f) {
    put32(static_cast<uint32_t>(f.ts / kNsPerSec));
    put32(static_cast<uint32_t>(f.ts % kNsPerSec));
    put32(f.caplen);
    put32(f.wirelen);
    out_.write(reinterpret_cast<const char*>(f.data), f.caplen);
  }
  void close() { out_.close(); }

 private:
  void put32(uint32_t v) { out_.write(reinterpret_cast<const char*>(&v), 4); }
  void put16(uint16_t v) { out_.write(reinterpret_cast<const char*>(&v), 2); }
  std::ofstream out_;
};

std::vector<std::vector<std::string>> tsv(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    while (cols.size() < 8) cols.emplace_back();
    rows.push_back(cols);
  }
  return rows;
}

class LiveLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "live capture needs root";
    for (const char* t : {"dnsmasq", "dig", "ping", "tshark"})
      if (!have(t)) GTEST_SKIP() << t << " not installed";
    char tmpl[] = "/tmp/tapir-live-XXXXXX";
    dir_ = mkdtemp(tmpl);
    dnsmasq_ = spawn({"dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
                      "--conf-file=/dev/null", "--bind-interfaces",
                      std::string("--listen-address=") + kDnsAddr, "--port=53",
                      "--pid-file=" + dir_ + "/dnsmasq.pid", "--user=root",
                      "--address=/wild.tapir-live.test/192.0.2.77",
                      "--host-record=host.tapir-live.test,198.51.100.9"});
    ASSERT_GT(dnsmasq_, 0);
    // Ready when it answers (bounded: 50 tries of one second at most).
    for (int i = 0; i < 50; ++i) {
      if (run(std::string("dig +short +tries=1 +time=1 @") + kDnsAddr +
              " host.tapir-live.test A") == "198.51.100.9\n")
        return;
      usleep(100 * 1000);
    }
    FAIL() << "dnsmasq did not come up on " << kDnsAddr;
  }
  void TearDown() override {
    if (dnsmasq_ > 0) {
      kill(dnsmasq_, SIGTERM);
      waitpid(dnsmasq_, nullptr, 0);
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  pid_t dnsmasq_ = -1;
};

TEST_F(LiveLoopback, DnsIcmpAndFlowsMatchTshark) {
  capture::LiveOptions lo;
  lo.interface = "lo";
  lo.bpf_filter = std::string("host ") + kDnsAddr + " or (icmp and host 127.0.0.1)";
  std::string err;
  auto src = capture::open_live(lo, err);
  ASSERT_NE(src, nullptr) << err;

  exporter::MemorySink sink;
  pipeline::EngineConfig cfg;
  pipeline::Engine engine(cfg, sink);
  const std::string pcap = dir_ + "/live.pcap";
  PcapWriter writer(pcap, 1);  // lo is Ethernet-framed on Linux
  std::atomic<uint64_t> frames{0};
  capture::ReadStatus last = capture::ReadStatus::kEnd;
  std::thread reader([&] {
    decode::RawFrame f;
    for (;;) {
      const auto st = src->next(f);
      if (st == capture::ReadStatus::kTimeout) continue;
      if (st != capture::ReadStatus::kFrame) {
        last = st;
        break;
      }
      EXPECT_EQ(f.link, decode::LinkType::kEthernet);
      writer.write(f);
      engine.process(f);
      ++frames;
    }
  });

  const std::string dig = std::string("dig +tries=1 +time=2 @") + kDnsAddr + " ";
  EXPECT_NE(run(dig + "a.wild.tapir-live.test A").find("192.0.2.77"), std::string::npos);
  EXPECT_NE(run(dig + "host.tapir-live.test A").find("198.51.100.9"), std::string::npos);
  run(dig + "missing.invalid A");
  EXPECT_EQ(std::system("ping -c 3 -i 0.2 -W 2 127.0.0.1 >/dev/null 2>&1"), 0);

  // Let the last replies reach the capture, then stop the reader.
  const uint64_t want_at_least = 6 + 6;  // 3 DNS exchanges, 3 echo pairs
  for (int i = 0; i < 50 && frames.load() < want_at_least; ++i) usleep(100 * 1000);
  usleep(300 * 1000);
  src->stop();
  reader.join();
  EXPECT_EQ(last, capture::ReadStatus::kEnd) << src->error();
  engine.finish();
  writer.close();
  const auto stats = src->stats();
  EXPECT_EQ(stats.frames, frames.load());

  // --- DNS against tshark on the same frames.
  const auto ts_dns = tsv(run("tshark -r " + pcap +
                              " -Y 'dns.flags.response == 1' -T fields -e dns.qry.name"
                              " -e dns.flags.rcode -e dns.a 2>/dev/null"));
  ASSERT_EQ(ts_dns.size(), 3u);
  std::map<std::string, std::pair<uint32_t, std::string>> want;  // name -> rcode, answers
  for (const auto& r : ts_dns) want[r[0]] = {static_cast<uint32_t>(std::stoul(r[1])), r[2]};
  std::map<std::string, std::pair<uint32_t, std::string>> got;
  sink.for_each(v1::Event::kDns, [&](const v1::Event& e) {
    const auto& d = e.dns();
    EXPECT_TRUE(d.has_query());
    EXPECT_TRUE(d.has_response());
    EXPECT_EQ(ip_bytes_to_string(d.dst().ip()), kDnsAddr);
    EXPECT_EQ(d.dst().port(), 53u);
    std::string answers;
    for (const auto& a : d.answer_data()) answers += (answers.empty() ? "" : ",") + a;
    got[d.query()] = {d.rcode(), answers};
  });
  EXPECT_EQ(got, want);
  EXPECT_EQ(got["a.wild.tapir-live.test"].second, "192.0.2.77");
  EXPECT_EQ(got["host.tapir-live.test"].second, "198.51.100.9");

  // --- ICMP echo pairing: three requests, three paired replies with their sequence numbers.
  const auto ts_icmp = tsv(run("tshark -r " + pcap +
                               " -Y icmp -T fields -e icmp.type -e icmp.seq 2>/dev/null"));
  std::multiset<std::string> want_icmp, got_icmp;
  for (const auto& r : ts_icmp) want_icmp.insert(r[0] + "/" + r[1]);
  int paired = 0;
  sink.for_each(v1::Event::kIcmp, [&](const v1::Event& e) {
    const auto& m = e.icmp();
    got_icmp.insert(std::to_string(m.type()) + "/" + std::to_string(m.echo_seq()));
    if (m.type() == 0) {
      EXPECT_TRUE(m.paired()) << m.ShortDebugString();
      ++paired;
    }
  });
  EXPECT_EQ(got_icmp, want_icmp);
  EXPECT_EQ(paired, 3);

  // --- Flows: one per UDP conversation tshark sees, with its packet counts.
  const auto ts_conv = tsv(run("tshark -r " + pcap +
                               " -T fields -e udp.stream -e udp.srcport 2>/dev/null"));
  std::map<std::string, int> per_stream;
  for (const auto& r : ts_conv)
    if (!r[0].empty()) ++per_stream[r[0]];
  int udp_flows = 0, icmp_flows = 0;
  sink.for_each(v1::Event::kFlow, [&](const v1::Event& e) {
    const auto& f = e.flow();
    if (f.ip_proto() == 17) {
      ++udp_flows;
      EXPECT_EQ(f.src_packets(), 1u);
      EXPECT_EQ(f.dst_packets(), 1u);
      EXPECT_EQ(f.app_proto(), "dns");
      EXPECT_EQ(ip_bytes_to_string(f.dst().ip()), kDnsAddr);
    } else if (f.ip_proto() == 1) {
      ++icmp_flows;
      EXPECT_EQ(f.src_packets() + f.dst_packets(), 6u);
    }
  });
  EXPECT_EQ(udp_flows, static_cast<int>(per_stream.size()));
  EXPECT_EQ(icmp_flows, 1);
}

TEST(LiveErrors, UnknownInterfaceAndBadFilterAreClear) {
  std::string err;
  capture::LiveOptions o;
  o.interface = "tapir-no-such-if0";
  EXPECT_EQ(capture::open_live(o, err), nullptr);
  EXPECT_EQ(err.rfind("tapir-no-such-if0: ", 0), 0u) << err;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  o.interface = "lo";
  o.bpf_filter = "host (";
  EXPECT_EQ(capture::open_live(o, err), nullptr);
  EXPECT_NE(err.find("bad filter"), std::string::npos) << err;
}

}  // namespace
}  // namespace tapir
