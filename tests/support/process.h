// Child processes for tests that run the real programs: spawning with output
// to files, running to completion, shell commands, free loopback ports and
// bounded waits.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "support/files.h"

namespace tapir::testing {

// The project's programs in the build tree.
inline std::string bin(const std::string& rel) { return std::string(TAPIR_BINARY_DIR) + "/" + rel; }
inline std::string collector_bin() { return bin("apps/tapir-collector/tapir-collector"); }
inline std::string agent_bin() { return bin("apps/tapir-agent/tapir-agent"); }
inline std::string tapir_bin() { return bin("apps/tapir/tapir"); }

// Starts argv (searched in PATH) with stdin, stdout and stderr redirected;
// stderr goes to stdout's file when err_path is empty. Returns the pid.
inline pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path,
                   const std::string& err_path = "", const std::string& stdin_path = "/dev/null") {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int in = ::open(stdin_path.c_str(), O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = err_path.empty() ? out : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) ::dup2(out, 1);
    if (err >= 0) ::dup2(err, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

// Exit status of a waited-for child: its code, or 128 + the signal.
inline int exit_code(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// A child process; signalled (by its pid) and reaped when destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null",
        const std::string& out_path = "/dev/null", const std::string& err_path = "")
      : pid_(spawn(argv, out_path, err_path, stdin_path)) {}
  ~Child() { stop(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  // Waits for the child to exit on its own; its exit code, or -1.
  int wait() {
    if (pid_ <= 0) return -1;
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return exit_code(st);
  }
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, sig);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

struct RunResult {
  int status = -1;
  std::string out, err;
};

// Runs argv to completion, its output kept in files under dir.
inline RunResult run_in(const std::vector<std::string>& argv, const std::string& dir) {
  static int n = 0;
  const std::string k = std::to_string(++n);
  const std::string o = dir + "/run" + k + ".out", e = dir + "/run" + k + ".err";
  const pid_t pid = spawn(argv, o, e);
  int st = 0;
  ::waitpid(pid, &st, 0);
  return {exit_code(st), read_file(o), read_file(e)};
}

// Runs a shell command; its standard output.
inline std::string sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// A value from an SQLite database, read with the sqlite3 CLI (an oracle
// independent of the store code). Read-only; trailing newline removed.
inline std::string sqlite_value(const std::string& db, const std::string& query) {
  std::string esc;
  for (char c : query) esc += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return trim(sh("sqlite3 -batch -readonly '" + db + "' '" + esc + "' 2>/dev/null"));
}

// A loopback TCP port nobody listens on right now (bound, then released).
inline uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Polls until something accepts connections on 127.0.0.1:port (bounded).
inline bool wait_listening(uint16_t port) {
  return wait_until([port] {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
  }, std::chrono::seconds(5));
}

}  // namespace tapir::testing
