// The soak: a paced replay of TAPIR_SOAK_SECONDS (default 120) while the
// collector is killed and restarted every 20 s and another process holds the
// store's write lock every other cycle. At the end nothing is lost and
// nothing stored twice; the agent's and the collector's RSS are printed, not
// asserted. bench/soak.sh runs it for longer (30 minutes by default).
#include "faults.h"

namespace tapir::agent {
namespace {

using namespace test;

TEST(AgentFaults, SoakCollectorKilledAndStoreLockedRepeatedly) {
  int seconds = 120;
  if (const char* s = std::getenv("TAPIR_SOAK_SECONDS")) seconds = std::max(60, std::atoi(s));
  auto dir = temp_dir("faults-soak");
  // About 100 packets per second of paced replay.
  auto capture = paced_capture(dir, static_cast<uint64_t>(seconds) * 100, 31, seconds);
  auto want = decoded(capture, dir);
  Pki pki = make_pki(dir);
  auto col = std::make_unique<CollectorProcess>(dir, collector_tls(pki));
  ASSERT_TRUE(col->start()) << col->err();
  int port = col->port();
  pid_t agent = spawn(agent_argv(capture, col->address(), pki, dir + "/spool",
                                 {"--report-interval", "5"}),
                      dir + "/agent.out", dir + "/agent.err");
  auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::steady_clock::now() - t0; };
  // The faults stop 30 s before the replay ends, so the end is clean.
  auto chaos_end = std::chrono::seconds(seconds - 30);
  std::vector<long> agent_rss, collector_rss;
  int kills = 0, locks = 0, cycle = 0;
  while (elapsed() < chaos_end) {
    // A 20 s cycle: the collector is killed (SIGKILL, or SIGTERM every third
    // time), restarted 3 s later; every other cycle another process then
    // holds the store's write lock for 12 s (longer than the busy timeout).
    std::this_thread::sleep_for(std::chrono::seconds(3));
    if (cycle % 2 == 1) {
      pid_t lock = hold_write_lock(col->db(), 12, dir);
      EXPECT_EQ(wait_exit(lock), 0) << read_all(dir + "/lock.err");
      ++locks;
    } else {
      std::this_thread::sleep_for(std::chrono::seconds(12));
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
    agent_rss.push_back(rss_kib(agent));
    collector_rss.push_back(rss_kib(col->pid()));
    if (cycle % 3 == 2) col->stop(); else col->kill9();
    ++kills;
    std::this_thread::sleep_for(std::chrono::seconds(3));
    col = std::make_unique<CollectorProcess>(dir, collector_tls(pki), port);
    ASSERT_TRUE(col->start()) << col->err();
    ++cycle;
  }
  agent_rss.push_back(rss_kib(agent));
  int rc = wait_exit(agent);
  collector_rss.push_back(rss_kib(col->pid()));
  EXPECT_EQ(rc, 0);
  std::string agent_err = read_all(dir + "/agent.err");
  auto got = stored(col->db());
  std::string rss_a, rss_c;
  for (long v : agent_rss) rss_a += std::to_string(v) + " ";
  for (long v : collector_rss) rss_c += std::to_string(v) + " ";
  std::printf("soak %d s: %d collector kills, %d lock holds, %ld events stored of %ld decoded\n"
              "agent RSS KiB every cycle: %s\ncollector RSS KiB before each kill (a new process each "
              "cycle) and at the end: %s\n",
              seconds, kills, locks, total(got), total(want), rss_a.c_str(), rss_c.c_str());
  RecordProperty("agent_rss_kib", rss_a);
  RecordProperty("collector_rss_kib", rss_c);
  EXPECT_EQ(got, want) << "stored " << show(got) << "\ndecoded " << show(want) << "\n" << agent_err;
  EXPECT_NE(agent_err.find("spooled now 0 events"), std::string::npos) << agent_err;
  EXPECT_EQ(summary_dropped(agent_err), 0) << agent_err;
}

}  // namespace
}  // namespace tapir::agent
