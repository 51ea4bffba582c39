// Delivery under faults, with real processes: tapir-agent replays a capture
// at its recorded pace to a tapir-collector over loopback while the test
// breaks things (another process holds the database's write lock, the spool's
// filesystem fills up, the collector is killed with SIGKILL and restarted).
// The oracle is `tapir decode` of the same capture: the collector must end
// with exactly its events per type (nothing lost, nothing twice), except the
// drops the agent counted and reported in its last Agent event.
#include <sys/mount.h>

#include "faults.h"

namespace tapir::agent {
namespace {

using namespace test;

TEST(AgentFaults, StoreWriteLockHeldMidStreamLosesNothing) {
  auto dir = temp_dir("faults-lock");
  auto capture = paced_capture(dir, 12000, 11, 30);
  auto want = decoded(capture, dir);
  ASSERT_GT(total(want), 1000) << show(want);
  Pki pki = make_pki(dir);
  CollectorProcess col(dir, collector_tls(pki));
  ASSERT_TRUE(col.start()) << col.err();
  pid_t agent = spawn(agent_argv(capture, col.address(), pki, dir + "/spool"), dir + "/agent.out",
                      dir + "/agent.err");
  // Some batches are committed before the lock, some wait behind it (SQLite's
  // busy timeout is shorter than the 15 s it is held), some come after.
  ASSERT_TRUE(wait_until([&] { return sql_long(col.db(), "select count(*) from dns") > 0; }));
  pid_t lock = hold_write_lock(col.db(), 15, dir);
  ASSERT_TRUE(wait_until([&] { return read_all(dir + "/lock.out").find("locked") != std::string::npos; }));
  EXPECT_EQ(wait_exit(lock), 0) << read_all(dir + "/lock.err");
  EXPECT_EQ(wait_exit(agent), 0) << read_all(dir + "/agent.err");
  std::string agent_err = read_all(dir + "/agent.err");
  // The fault happened: at least one transaction failed on the lock.
  EXPECT_GE(metric(col, "tapir_collector_store_errors_total{cause=\"busy\"}"), 1) << col.err();
  EXPECT_EQ(stored(col.db()), want) << "stored " << show(stored(col.db())) << "\ndecoded "
                                    << show(want) << "\n" << agent_err << col.err();
  EXPECT_NE(agent_err.find("spooled now 0 events"), std::string::npos) << agent_err;
  EXPECT_EQ(summary_dropped(agent_err), 0) << agent_err;
  // The store failure is not mistaken for a TLS refusal.
  EXPECT_EQ(agent_err.find("TLS was refused"), std::string::npos) << agent_err;
}

TEST(AgentFaults, StoreGivingUpFailsTheStreamAndTheAgentResends) {
  auto dir = temp_dir("faults-giveup");
  auto capture = paced_capture(dir, 8000, 13, 25);
  auto want = decoded(capture, dir);
  Pki pki = make_pki(dir);
  // No retry: the first failed transaction fails its streams.
  auto flags = collector_tls(pki);
  flags.insert(flags.end(), {"--store-retry", "0"});
  CollectorProcess col(dir, flags);
  ASSERT_TRUE(col.start()) << col.err();
  pid_t agent = spawn(agent_argv(capture, col.address(), pki, dir + "/spool"), dir + "/agent.out",
                      dir + "/agent.err");
  ASSERT_TRUE(wait_until([&] { return sql_long(col.db(), "select count(*) from dns") > 0; }));
  pid_t lock = hold_write_lock(col.db(), 14, dir);
  EXPECT_EQ(wait_exit(lock), 0) << read_all(dir + "/lock.err");
  EXPECT_EQ(wait_exit(agent), 0);
  std::string agent_err = read_all(dir + "/agent.err");
  // The fault happened: streams were failed, and the agent saw why.
  EXPECT_GE(metric(col, "tapir_collector_commit_give_ups_total"), 1) << col.err();
  EXPECT_NE(agent_err.find("store failed"), std::string::npos) << agent_err;
  EXPECT_GE(sql_long(col.db(), "select max(counters_store_failures) from agent"), 1);
  // ... and did not take it for a TLS refusal.
  EXPECT_EQ(agent_err.find("TLS was refused"), std::string::npos) << agent_err;
  EXPECT_EQ(sql_long(col.db(), "select max(counters_tls_failures) from agent"), 0);
  // Everything resent and stored once.
  EXPECT_EQ(stored(col.db()), want) << "stored " << show(stored(col.db())) << "\ndecoded "
                                    << show(want) << "\n" << agent_err << col.err();
  EXPECT_NE(agent_err.find("spooled now 0 events"), std::string::npos) << agent_err;
}

TEST(AgentFaults, CollectorKilledAndRestartedDeliversEverythingWithinTheDefaultDrain) {
  auto dir = temp_dir("faults-kill");
  auto capture = paced_capture(dir, 8000, 12, 12);
  auto want = decoded(capture, dir);
  Pki pki = make_pki(dir);
  CollectorProcess col(dir, collector_tls(pki));
  ASSERT_TRUE(col.start()) << col.err();
  int port = col.port();
  pid_t agent = spawn(agent_argv(capture, col.address(), pki, dir + "/spool"), dir + "/agent.out",
                      dir + "/agent.err");
  ASSERT_TRUE(wait_until([&] { return sql_long(col.db(), "select count(*) from dns") > 0; }));
  col.kill9();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  CollectorProcess col2(dir, collector_tls(pki), port);  // same database and port
  ASSERT_TRUE(col2.start()) << col2.err();
  EXPECT_EQ(wait_exit(agent), 0);
  std::string agent_err = read_all(dir + "/agent.err");
  // The agent exits with the default drain (5 s) and nothing left over.
  EXPECT_NE(agent_err.find("spooled now 0 events"), std::string::npos) << agent_err;
  EXPECT_EQ(summary_dropped(agent_err), 0) << agent_err;
  EXPECT_EQ(stored(col2.db()), want) << "stored " << show(stored(col2.db())) << "\ndecoded "
                                     << show(want) << "\n" << agent_err;
  EXPECT_EQ(agent_err.find("TLS was refused"), std::string::npos) << agent_err;
}

// A small tmpfs mounted for the test and unmounted however it ends.
class Tmpfs {
 public:
  Tmpfs(std::string path, const std::string& size) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    ok_ = ::mount("tmpfs", path_.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!ok_) why_ = std::strerror(errno);
  }
  ~Tmpfs() {
    if (ok_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }

 private:
  std::string path_, why_;
  bool ok_ = false;
};

// Keeps a filesystem full, as another process writing to it would: tops up a
// filler file whenever space appears, until stopped; then removes it.
class Filler {
 public:
  explicit Filler(std::string path) : path_(std::move(path)) {
    thread_ = std::thread([this] {
      std::string block(4096, 'x');
      while (!stop_) {
        FILE* f = std::fopen(path_.c_str(), "ab");
        if (f) {
          while (!stop_ && std::fwrite(block.data(), 1, block.size(), f) == block.size() &&
                 std::fflush(f) == 0) {
          }
          std::fclose(f);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  ~Filler() { stop(); }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    ::unlink(path_.c_str());
  }

 private:
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(AgentFaults, SpoolFilesystemFullLosesNothingSilentlyAndNeverReusesSequences) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
  auto dir = temp_dir("faults-spoolfull");
  // Small batches: enough of them that the sequence counter's next block
  // (4096 numbers) must be persisted while the filesystem is full.
  auto capture_a = paced_capture(dir, 40000, 21, 16);
  auto capture_b = paced_capture(dir, 3000, 22, 2);
  auto want_a = decoded(capture_a, dir), want_b = decoded(capture_b, dir);
  Tmpfs fs(dir + "/spoolfs", "4m");
  ASSERT_TRUE(fs.ok()) << "mount tmpfs: " << fs.why();
  std::string spool = dir + "/spoolfs/spool";
  Pki pki = make_pki(dir);
  CollectorProcess col(dir, collector_tls(pki));
  ASSERT_TRUE(col.start()) << col.err();
  std::vector<std::string> small = {"--batch-events", "1", "--queue-batches", "16"};

  // Run 1: the collector stalls, the spool takes the backlog, then its
  // filesystem fills up and stays full to the end of the run.
  col.pause();
  pid_t agent = spawn(agent_argv(capture_a, col.address(), pki, spool, small), dir + "/agent1.out",
                      dir + "/agent1.err");
  ASSERT_TRUE(wait_until([&] {
    return std::filesystem::exists(spool) &&
           std::distance(std::filesystem::directory_iterator(spool),
                         std::filesystem::directory_iterator{}) > 50;
  }));
  auto filler = std::make_unique<Filler>(dir + "/spoolfs/filler");
  ASSERT_TRUE(wait_until([&] {
    return read_all(dir + "/agent1.err").find("spool write failed") != std::string::npos;
  })) << read_all(dir + "/agent1.err");
  col.resume();
  EXPECT_EQ(wait_exit(agent), 0);
  filler->stop();
  std::string err1 = read_all(dir + "/agent1.err");

  // Run 2, same spool directory: numbers from the persisted counter.
  auto r2 = run(agent_argv(capture_b, col.address(), pki, spool), dir);
  EXPECT_EQ(r2.status, 0) << r2.err;

  // The last Agent event of each run (one start_time per run).
  std::string last = sql(col.db(),
                         "select group_concat(d || ':' || w || ':' || e, ' ') from (select "
                         "counters_dropped d, counters_sequence_write_failures w, "
                         "counters_events e, max(ts) from agent group by start_time order by "
                         "start_time)");
  long d1 = -1, w1 = -1, e1 = -1, d2 = -1, w2 = -1, e2 = -1;
  ASSERT_EQ(std::sscanf(last.c_str(), "%ld:%ld:%ld %ld:%ld:%ld", &d1, &w1, &e1, &d2, &w2, &e2), 6)
      << last;
  // The faults happened: batches were dropped and the counter could not be written.
  EXPECT_GT(d1, 0) << err1;
  EXPECT_GE(w1, 1) << err1;
  EXPECT_NE(err1.find("cannot persist the sequence counter"), std::string::npos) << err1;
  // The last report of each run carries every drop, those at exit included.
  EXPECT_EQ(d1, summary_dropped(err1)) << err1;
  EXPECT_EQ(d2, summary_dropped(r2.err)) << r2.err;
  EXPECT_EQ(d2, 0) << r2.err;
  // The engines made exactly the events `tapir decode` makes.
  EXPECT_EQ(e1 + e2, total(want_a) + total(want_b));
  // Nothing lost silently, nothing stored twice. The agent numbered its
  // engines' events and its own Agent reports ("events N" at exit); each is
  // stored once or counted as dropped.
  auto got = stored(col.db());
  long reports = sql_long(col.db(), "select count(*) from agent");
  EXPECT_EQ(total(got) + reports + d1 + d2, summary_events(err1) + summary_events(r2.err))
      << "stored " << show(got) << "+ " << reports << " agent reports\ndecoded " << show(want_a)
      << "+ " << show(want_b) << "\n" << err1 << r2.err;
  // And of the engines' events, exactly the decoded ones minus the dropped
  // ones are stored (drops of Agent reports are the reports numbered but not stored).
  long report_drops = (summary_events(err1) - e1) + (summary_events(r2.err) - e2) - reports;
  EXPECT_EQ(total(got), total(want_a) + total(want_b) - (d1 + d2 - report_drops))
      << "stored " << show(got) << "\ndecoded " << show(want_a) << "+ " << show(want_b);
  // No type has more than decoded (a duplicate would show here first).
  for (const auto& [t, n] : got) EXPECT_LE(n, want_a[t] + want_b[t]) << t;
  EXPECT_NE(r2.err.find("spooled now 0 events"), std::string::npos) << r2.err;
  // Run 1 moved to a fresh sequence space when its counter could not be made
  // durable; run 2 numbered in the spool's own one again.
  EXPECT_GE(sql_long(col.db(), "select count(distinct instance) from _ingest"), 2);
}

}  // namespace
}  // namespace tapir::agent
