// Test helpers: a real tapir-collector process on loopback, the sqlite3 CLI
// as an independent reader of what it stored, and process runners.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace tapir::agent::test {

inline std::string bin(const std::string& rel) { return std::string(TAPIR_BINARY_DIR) + "/" + rel; }
inline std::string collector_bin() { return bin("apps/tapir-collector/tapir-collector"); }
inline std::string agent_bin() { return bin("apps/tapir-agent/tapir-agent"); }
inline std::string tapir_bin() { return bin("apps/tapir/tapir"); }

inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Removes the tests' directories after a fully passing run; after a failure
// they stay for inspection (collector logs, databases, spool files).
class TempCleanup : public ::testing::Environment {
 public:
  static std::vector<std::string>& dirs() {
    static std::vector<std::string> d;
    return d;
  }
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    std::error_code ec;
    for (const auto& d : dirs()) std::filesystem::remove_all(d, ec);
  }
};
inline ::testing::Environment* const kTempCleanup =
    ::testing::AddGlobalTestEnvironment(new TempCleanup);

// A fresh directory per test under the build tree.
inline std::string temp_dir(const std::string& name) {
  auto d = std::filesystem::path(TAPIR_BINARY_DIR) / "tests" / "agent-tmp" /
           (name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  TempCleanup::dirs().push_back(d.string());
  return d.string();
}

// A loopback port nobody listens on right now (bound, then released).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Liveness bound for waits (not a performance assertion): generous for a
// loaded 2-core machine.
constexpr auto kWaitLimit = std::chrono::seconds(90);

inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = kWaitLimit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Spawns argv with stdout/stderr to files; returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out,
                   const std::string& err) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

struct RunResult {
  int status = -1;
  std::string out, err;
};

// Runs a process to completion.
inline RunResult run(const std::vector<std::string>& argv, const std::string& dir) {
  static int n = 0;
  std::string o = dir + "/run" + std::to_string(++n) + ".out", e = dir + "/run" + std::to_string(n) + ".err";
  pid_t pid = spawn(argv, o, e);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), read_all(o), read_all(e)};
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
  std::string cmd = "sqlite3 -readonly '" + db + "' \"" + query + "\" 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  ::pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

inline long sql_long(const std::string& db, const std::string& query) {
  std::string v = sql(db, query);
  return v.empty() ? -1 : std::atol(v.c_str());
}

}  // namespace tapir::agent::test
