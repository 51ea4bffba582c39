// Test helpers: a real tapir-collector process on loopback, the sqlite3 CLI
// as an independent reader of what it stored, and process runners.
#pragma once

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>
#include <vector>

#include "support/files.h"
#include "support/process.h"

namespace tapir::agent::test {

using tapir::testing::agent_bin;
using tapir::testing::bin;
using tapir::testing::collector_bin;
using tapir::testing::free_port;
using tapir::testing::kWaitLimit;
using tapir::testing::RunResult;
using tapir::testing::tapir_bin;
using tapir::testing::temp_dir;
using tapir::testing::wait_until;

inline std::string read_all(const std::string& path) { return tapir::testing::read_file(path); }

// Starts argv with stdout and stderr to files; returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out,
                   const std::string& err) {
  return tapir::testing::spawn(argv, out, err);
}

// Runs a process to completion.
inline RunResult run(const std::vector<std::string>& argv, const std::string& dir) {
  return tapir::testing::run_in(argv, dir);
}

// A real collector process storing into SQLite.
class CollectorProcess {
 public:
  // `extra`: TLS or --insecure and token flags. port 0 = any free port.
  CollectorProcess(std::string dir, std::vector<std::string> extra, int port = 0)
      : dir_(std::move(dir)), extra_(std::move(extra)), port_(port) {}
  ~CollectorProcess() { stop(); }

  bool start() {
    ++starts_;
    out_ = dir_ + "/collector" + std::to_string(starts_) + ".out";
    err_ = dir_ + "/collector" + std::to_string(starts_) + ".err";
    std::vector<std::string> argv = {collector_bin(), "--db", db(), "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--api-listen",
                                     "127.0.0.1:0", "--no-api-auth"};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    pid_ = spawn(argv, out_, err_);
    return wait_until([&] {
      std::string text = read_all(out_);
      auto p = text.find("ingest on port ");
      if (p == std::string::npos) return false;
      port_ = std::atoi(text.c_str() + p + 15);
      auto a = text.find("http://127.0.0.1:");
      if (a != std::string::npos) api_port_ = std::atoi(text.c_str() + a + 17);
      return port_ > 0;
    }, std::chrono::seconds(30));
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    int st;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  // kill -9: no shutdown, no drain, whatever was not committed is lost to it.
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }
  void pause() { ::kill(pid_, SIGSTOP); }
  void resume() { ::kill(pid_, SIGCONT); }
  int port() const { return port_; }
  int api_port() const { return api_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string db() const { return dir_ + "/collector.db"; }
  std::string err() const { return read_all(err_); }

 private:
  std::string dir_;
  std::vector<std::string> extra_;
  int port_ = 0;
  int api_port_ = 0;
  pid_t pid_ = -1;
  int starts_ = 0;
  std::string out_, err_;
};

// One value from the collector's database, read with the sqlite3 CLI.
inline std::string sql(const std::string& db, const std::string& query) {
  return tapir::testing::sqlite_value(db, query);
}

inline long sql_long(const std::string& db, const std::string& query) {
  std::string v = sql(db, query);
  return v.empty() ? -1 : std::atol(v.c_str());
}

}  // namespace tapir::agent::test
