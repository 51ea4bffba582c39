// starve_bench [REQUESTS] [FLOWS]
//
// Latency of the API of a real tapir-collector (default limits and timeouts,
// except 256 connections per address) with no load, then while it holds the
// load that used to starve it: 64 connections sending a request head one
// byte a second (reopened when the header timeout closes them), 200 idle
// keep-alive connections and 200 live tails (drained as they arrive) while
// an agent sends 100 flows every 500 ms. Measured from 127.0.0.1 (the load
// comes from 127.0.0.2-4): an authenticated list page on a keep-alive
// connection, the same on a new connection each time, and /healthz on a new
// connection. Prints p50/p99/max in milliseconds.
#include <httplib.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include "events.h"
#include "harness.h"
#include "load.h"

namespace tt = tapir::testing;
namespace v1 = tapir::v1;
using Clock = std::chrono::steady_clock;

namespace {

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

struct Load {
  Load(int p, std::string t) : port(p), token(std::move(t)) {}
  int port;
  std::string token;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> slow_reopened{0}, tail_bytes{0}, batches{0};
  std::vector<std::thread> threads;

  void start(const std::string& grpc_target) {
    // Slow heads: one byte a second each; a closed one is replaced.
    threads.emplace_back([this] {
      const std::string text = "GET /api/v1/flow HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(4000, 'a') + "\r\n\r\n";
      std::vector<std::pair<int, size_t>> conns;
      for (int i = 0; i < 64; ++i) conns.emplace_back(tt::connect_from("127.0.0.2", port), 0);
      while (!stop) {
        for (auto& [fd, pos] : conns) {
          if (fd < 0 || !tt::send_all(fd, text.substr(pos % text.size(), 1))) {
            if (fd >= 0) ::close(fd);
            fd = tt::connect_from("127.0.0.2", port);
            pos = 0;
            ++slow_reopened;
            continue;
          }
          ++pos;
        }
        for (int t = 0; t < 10 && !stop; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      for (auto& c : conns)
        if (c.first >= 0) ::close(c.first);
    });
    // Idle keep-alive connections, half after one request.
    threads.emplace_back([this] {
      std::vector<int> fds;
      for (int i = 0; i < 200; ++i) {
        int fd = tt::connect_from("127.0.0.3", port);
        if (fd >= 0 && i % 2 == 0 && tt::send_all(fd, tt::get_request("/healthz"))) tt::read_reply(fd);
        fds.push_back(fd);
      }
      while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      for (int fd : fds)
        if (fd >= 0) ::close(fd);
    });
    // Live tails, read as fast as they come.
    threads.emplace_back([this] {
      std::vector<pollfd> fds;
      for (int i = 0; i < 200; ++i) {
        int fd = tt::connect_from("127.0.0.4", port);
        if (fd < 0) continue;
        tt::send_all(fd, tt::get_request(i % 2 ? "/api/v1/stream?types=flow,dns" : "/api/v1/flow/stream?dst_port_eq=443",
                                         token));
        fds.push_back({fd, POLLIN, 0});
      }
      char buf[65536];
      while (!stop) {
        if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
        for (auto& p : fds)
          if (p.revents & POLLIN) {
            ssize_t n = ::recv(p.fd, buf, sizeof buf, 0);
            if (n > 0) tail_bytes += static_cast<uint64_t>(n);
          }
      }
      for (auto& p : fds) ::close(p.fd);
    });
    // An agent that keeps the tails busy.
    threads.emplace_back([this, grpc_target] {
      auto ch = tt::agent_channel(grpc_target, nullptr, "");
      uint64_t seq = 1000;
      while (!stop) {
        ++seq;
        tt::send_batches(ch, {tt::flow_batch("agent-1", seq, static_cast<int>(seq) * 100, 100)});
        ++batches;
        for (int t = 0; t < 5 && !stop; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  void finish() {
    stop = true;
    for (auto& t : threads) t.join();
  }
};

struct Row {
  std::string name;
  std::vector<double> ms;
  int failures = 0;
};

std::vector<Row> measure(int port, const std::string& token, int n) {
  const std::string list = "/api/v1/flow?_sort=id&_order=DESC&_start=0&_end=50&dst_port_eq=443";
  Row keep{"list, keep-alive connection", {}, 0}, fresh{"list, new connection", {}, 0},
      health{"/healthz, new connection", {}, 0};
  httplib::Client ka("127.0.0.1", port);
  ka.set_keep_alive(true);
  ka.set_bearer_token_auth(token.c_str());
  ka.set_read_timeout(120, 0);
  auto time = [](Row& row, const std::function<httplib::Result()>& f) {
    auto t0 = Clock::now();
    auto r = f();
    double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!r || r->status != 200)
      ++row.failures;
    else
      row.ms.push_back(t);
  };
  // The kinds take turns at going first after the pause, which is when the
  // server's threads have to be woken.
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 3; ++k) {
      switch ((i + k) % 3) {
        case 0:
          time(keep, [&] { return ka.Get(list); });
          break;
        case 1:
          time(fresh, [&] {
            httplib::Client c("127.0.0.1", port);
            c.set_bearer_token_auth(token.c_str());
            c.set_read_timeout(120, 0);
            return c.Get(list);
          });
          break;
        default:
          time(health, [&] {
            httplib::Client c("127.0.0.1", port);
            c.set_read_timeout(120, 0);
            return c.Get("/healthz");
          });
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return {keep, fresh, health};
}

void print(const char* phase, const std::vector<Row>& rows) {
  for (const auto& r : rows) {
    if (r.ms.empty()) {
      std::printf("%-10s %-30s no answers (%d failed)\n", phase, r.name.c_str(), r.failures);
      continue;
    }
    std::printf("%-10s %-30s %6zu %9.2f %9.2f %9.2f %6d\n", phase, r.name.c_str(), r.ms.size(), pct(r.ms, 0.5),
                pct(r.ms, 0.99), *std::max_element(r.ms.begin(), r.ms.end()), r.failures);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 500;
  int flows = argc > 2 ? std::atoi(argv[2]) : 20000;
  std::string dir = tt::temp_dir("starve-bench");
  std::string db = dir + "/b.db";
  tt::CollectorProcess c(db, {"--insecure", "--api-max-per-address", "256"});
  if (!c.start()) {
    std::fprintf(stderr, "collector did not start:\n%s\n", c.output().c_str());
    return 1;
  }
  std::vector<v1::EventBatch> batches;
  for (int s = 0; s * 1000 < flows; ++s)
    batches.push_back(tt::flow_batch("agent-1", static_cast<uint64_t>(s + 1), s * 1000, std::min(1000, flows - s * 1000)));
  if (!tt::send_batches(tt::agent_channel(c.grpc_target(), nullptr, ""), batches).status.ok()) return 1;
  int st = 0;
  std::string token =
      tt::trim(tt::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir token create --db ") + db + " --name b", &st));
  if (st != 0) return 1;

  std::printf("%d flows stored; %d requests of each kind per phase\n\n", flows, n);
  std::printf("%-10s %-30s %6s %9s %9s %9s %6s\n", "phase", "request", "n", "p50 ms", "p99 ms", "max ms", "failed");
  print("no load", measure(c.api_port, token, n));

  Load load(c.api_port, token);
  load.start(c.grpc_target());
  std::this_thread::sleep_for(std::chrono::seconds(3));  // let every load connection be open
  auto t0 = Clock::now();
  auto under = measure(c.api_port, token, n);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  print("load", under);
  auto m = httplib::Client("127.0.0.1", c.api_port).Get("/metrics");
  load.finish();
  std::printf("\nunder load for %.1f s: %llu slow connections replaced after the header timeout, %llu agent batches, "
              "%.1f MB of live-tail events read\n",
              secs, static_cast<unsigned long long>(load.slow_reopened.load()),
              static_cast<unsigned long long>(load.batches.load()), static_cast<double>(load.tail_bytes.load()) / 1e6);
  if (m) {
    for (const char* name : {"tapir_api_connections ", "tapir_api_tails ", "tapir_api_tail_groups ",
                             "tapir_api_header_timeouts_total ", "tapir_api_busy_total "}) {
      auto p = m->body.find(std::string("\n") + name);
      if (p != std::string::npos) std::printf("  %s", m->body.substr(p + 1, m->body.find('\n', p + 1) - p).c_str());
    }
  }
  return 0;
}
