// Live-test helpers: child processes (started and ended by pid), a free
// loopback port, and a tcpdump capture on lo.
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
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace tapir::testing {

// A child process; killed (by its pid) and reaped when destroyed.
class Child {
 public:
  Child(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null",
        const std::string& out_path = "/dev/null", const std::string& err_path = "") {
    pid_ = fork();
    if (pid_ == 0) {
      const int in = open(stdin_path.c_str(), O_RDONLY);
      const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (in >= 0) dup2(in, 0);
      if (out >= 0) dup2(out, 1);
      const int err = err_path.empty() ? out : open(err_path.c_str(), O_WRONLY | O_CREAT, 0644);
      if (err >= 0) dup2(err, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() { stop(SIGKILL); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // Waits for the child to exit on its own; its exit status, or -1.
  int wait() {
    if (pid_ <= 0) return -1;
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }
  void stop(int sig = SIGTERM) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// Runs a command to completion; its exit status.
inline int run(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null",
               const std::string& out_path = "/dev/null") {
  Child c(argv, stdin_path, out_path);
  return c.wait();
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// A loopback TCP port nobody listens on right now.
inline uint16_t free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Polls until something accepts connections on 127.0.0.1:port (bounded).
inline bool wait_listening(uint16_t port) {
  for (int i = 0; i < 100; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// tcpdump writing one port's loopback traffic to a file; stop() flushes it.
class LoCapture {
 public:
  LoCapture(const std::string& path, uint16_t port, const std::string& log)
      : path_(path), log_(log),
        child_({"tcpdump", "-i", "lo", "--immediate-mode", "-B", "65536", "-Z", "root", "-U", "-s", "0", "-w", path, "tcp port " + std::to_string(port)},
               "/dev/null", log) {
    // tcpdump says "listening on lo" once the capture is open.
    for (int i = 0; i < 100 && read_file(log_).find("listening on") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  bool ready() const { return read_file(log_).find("listening on") != std::string::npos; }
  // After stop(): packets the kernel dropped before tcpdump read them. A
  // test seeing drops cannot expect a complete capture.
  bool dropped() const {
    const std::string log = read_file(log_);
    const size_t at = log.find(" packets dropped by kernel");
    if (at == std::string::npos) return false;
    const size_t nl = log.rfind('\n', at);
    return std::stoul(log.substr(nl == std::string::npos ? 0 : nl + 1)) > 0;
  }
  void stop() {
    // Let the last packets (FIN/ACK of the closing client) reach the file:
    // wait until it has stopped growing for a while (bounded), since a
    // loaded machine may take longer than any fixed pause.
    std::error_code ec;
    uintmax_t last = 0;
    int stable = 0;
    for (int i = 0; i < 100 && stable < 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const uintmax_t now = std::filesystem::file_size(path_, ec);
      stable = (!ec && now == last && now > 24) ? stable + 1 : 0;
      last = now;
    }
    child_.stop(SIGINT);
  }

 private:
  std::string path_;
  std::string log_;
  Child child_;
};

// Output of a command as text.
inline std::string output_of(const std::vector<std::string>& argv, const std::string& tmp) {
  Child c(argv, "/dev/null", tmp, "/dev/null");
  c.wait();
  return read_file(tmp);
}

}  // namespace tapir::testing
