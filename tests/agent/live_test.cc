// tapir-agent capturing live on the loopback interface as root, then running
// as `nobody`: the datagrams this test sends (a known count, on a port only it
// uses) must show up in the Prometheus counters and as one stored flow.
#include <arpa/inet.h>
#include <pwd.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "harness.h"

namespace tapir::agent {
namespace {

using namespace test;

std::string http_get(int port, const std::string& path, const std::string& dir) {
  return run({"/usr/bin/curl", "-s", "--max-time", "5",
              "http://127.0.0.1:" + std::to_string(port) + path}, dir).out;
}

long metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::atol(text.c_str() + at + name.size() + 2);
}

TEST(AgentLive, LoopbackCaptureAsNobodyWithMetrics) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to capture";
  struct passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  uid_t nobody_uid = nobody->pw_uid;
  auto dir = temp_dir("live");
  ::chmod(dir.c_str(), 0755);
  CollectorProcess col(dir, {"--insecure"});
  ASSERT_TRUE(col.start()) << col.err();
  int udp_port = free_port();
  int metrics_port = free_port();
  std::string err_file = dir + "/agent.err";
  pid_t pid = spawn({agent_bin(), "-i", "lo", "-f", "udp port " + std::to_string(udp_port), "-c",
                     col.address(), "--insecure", "--id", "live-1", "--user", "nobody",
                     "--spool-dir", dir + "/spool", "--metrics",
                     "127.0.0.1:" + std::to_string(metrics_port), "--batch-delay-ms", "200",
                     "--drain", "30"},
                    dir + "/agent.out", err_file);
  ASSERT_TRUE(wait_until([&] {
    return metric(http_get(metrics_port, "/metrics", dir), "tapir_agent_packets_total") == 0;
  }, std::chrono::seconds(30))) << read_all(err_file);
  // Privileges are gone once the captures are open.
  std::string status = read_all("/proc/" + std::to_string(pid) + "/status");
  auto uid_line = status.substr(status.find("Uid:"), status.find('\n', status.find("Uid:")) - status.find("Uid:"));
  std::string n = std::to_string(nobody_uid);
  EXPECT_EQ(uid_line, "Uid:\t" + n + "\t" + n + "\t" + n + "\t" + n) << uid_line;
  auto cap_line = status.substr(status.find("CapEff:"), 24);
  EXPECT_EQ(cap_line, "CapEff:\t0000000000000000") << cap_line;

  constexpr int kDatagrams = 7;
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(udp_port));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < kDatagrams; ++i)
    ::sendto(fd, "tapir", 5, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  ::close(fd);
  ASSERT_TRUE(wait_until([&] {
    return metric(http_get(metrics_port, "/metrics", dir), "tapir_agent_packets_total") == kDatagrams;
  })) << http_get(metrics_port, "/metrics", dir);
  std::string m = http_get(metrics_port, "/metrics", dir);
  EXPECT_EQ(metric(m, "tapir_agent_malformed_total"), 0);
  EXPECT_GE(metric(m, "tapir_agent_queue_batches"), 0);
  EXPECT_NE(m.find("tapir_agent_dropped_events_total{reason=\"spool_full\"} 0"), std::string::npos);

  ::kill(pid, SIGTERM);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st)) << read_all(err_file);
  EXPECT_EQ(WEXITSTATUS(st), 0) << read_all(err_file);
  // The flow ends at exit and reaches the collector before the agent leaves.
  std::string where = " from flow where agent_id = 'live-1' and dst_port = " + std::to_string(udp_port);
  EXPECT_EQ(sql_long(col.db(), "select count(*)" + where), 1) << read_all(err_file);
  EXPECT_EQ(sql_long(col.db(), "select src_packets + dst_packets" + where), kDatagrams);
  EXPECT_EQ(sql_long(col.db(), "select counters_packets_seen from agent where agent_id = 'live-1' "
                               "order by id desc limit 1"), kDatagrams);
}

}  // namespace
}  // namespace tapir::agent
