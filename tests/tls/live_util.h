// Live-test helpers: child processes (started and ended by pid), a free
// loopback port, and a tcpdump capture on lo.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "support/process.h"

namespace tapir::testing {

// Runs a command to completion; its exit status.
inline int run(const std::vector<std::string>& argv, const std::string& stdin_path = "/dev/null",
               const std::string& out_path = "/dev/null") {
  Child c(argv, stdin_path, out_path);
  return c.wait();
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
