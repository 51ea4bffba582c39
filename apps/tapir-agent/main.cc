// tapir-agent: captures packets (live interfaces or capture files), decodes
// them into events and streams them to a Tapir collector.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "agent/batching_sink.h"
#include "agent/config.h"
#include "agent/exporter.h"
#include "agent/system.h"
#include "capture/source.h"
#include "common/time.h"
#include "pipeline/engine.h"

#ifdef TAPIR_AGENT_METRICS
#include <httplib.h>
#endif

namespace {

using tapir::agent::AgentConfig;
using tapir::agent::CaptureCounters;

constexpr const char* kFooter = R"(
Examples:
  # Live capture on eth0, mutual TLS with certificates from `tapir certs init`:
  tapir-agent -i eth0 -c collector.example:4317 \
      --ca /etc/tapir/certs/ca.pem --cert /etc/tapir/certs/agent-web01.pem \
      --key /etc/tapir/certs/agent-web01.key --id web01 --user tapir
  # Everything from a file, with flags overriding single keys:
  tapir-agent --config /etc/tapir/agent.yaml --metrics 127.0.0.1:9464
  # Replay a capture to a test collector on loopback without TLS:
  tapir-agent -r trace.pcap -c 127.0.0.1:4317 --insecure

Each flag names the YAML key it overrides in [brackets]. See docs/agent.md.)";

// How often a busy worker publishes its engine counters and seals an aged
// batch: fresh enough for metrics, rare enough to cost nothing per packet.
constexpr int64_t kPublishIntervalNs = 100 * 1000 * 1000;

// CLOCK_MONOTONIC_COARSE: a few nanoseconds through the vDSO, fine at 100 ms.
int64_t coarse_now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

struct Worker {
  bool live = false;  // an interface (stamps from the wall clock), not a file
  std::unique_ptr<tapir::capture::Source> source;
  std::unique_ptr<tapir::agent::BatchingSink> sink;
  std::unique_ptr<tapir::pipeline::Engine> engine;
  // Frames and bytes seen, live (single writer); the rest is published.
  std::atomic<uint64_t> frames{0};
  std::atomic<uint64_t> bytes{0};
  std::mutex mu;
  CaptureCounters counters;
  std::string error;
  std::thread thread;

  void publish() {
    auto es = engine->stats();
    auto ss = source->stats();
    std::lock_guard lk(mu);
    counters.packets = es.decode.frames;
    counters.bytes = es.decode.bytes;
    counters.decoded = es.decode.decoded;
    counters.malformed = es.decode.malformed;
    counters.events = es.events;
    counters.flows_evicted = es.flow.evicted;
    counters.kernel_drops = ss.kernel_drops;
    counters.if_drops = ss.if_drops;
  }
};

std::atomic<bool> g_stop{false};

void run_worker(Worker& w, bool realtime) {
  tapir::decode::RawFrame frame;
  uint64_t n = 0;
  int64_t last_publish = coarse_now_ns();
  tapir::TimeNs first_ts = 0;
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto st = w.source->next(frame);
    if (st == tapir::capture::ReadStatus::kFrame) {
      if (realtime) {
        if (n == 0) first_ts = frame.ts;
        auto due = start + std::chrono::nanoseconds(frame.ts - first_ts);
        while (!g_stop && std::chrono::steady_clock::now() < due)
          std::this_thread::sleep_until(std::min(due, std::chrono::steady_clock::now() +
                                                          std::chrono::milliseconds(100)));
      }
      w.engine->process(frame);
      ++n;
      w.frames.store(n, std::memory_order_relaxed);
      w.bytes.store(w.bytes.load(std::memory_order_relaxed) + frame.wirelen,
                    std::memory_order_relaxed);
      int64_t now = coarse_now_ns();
      if (now - last_publish >= kPublishIntervalNs) {
        last_publish = now;
        w.publish();
        w.sink->poll();
      }
      continue;
    }
    if (st == tapir::capture::ReadStatus::kTimeout) {
      // A quiet interface: flows that went idle end now, not when the next
      // packet comes.
      if (w.live) w.engine->advance(tapir::wall_now());
      w.sink->poll();
      w.publish();
      continue;
    }
    if (st == tapir::capture::ReadStatus::kError) {
      std::lock_guard lk(w.mu);
      w.error = w.source->error();
    }
    break;
  }
  w.engine->finish();
  w.sink->flush();
  w.publish();
}

CaptureCounters sum(std::vector<std::unique_ptr<Worker>>& workers) {
  CaptureCounters t;
  for (auto& w : workers) {
    std::lock_guard lk(w->mu);
    t.packets += w->frames.load(std::memory_order_relaxed);
    t.bytes += w->bytes.load(std::memory_order_relaxed);
    t.kernel_drops += w->counters.kernel_drops;
    t.if_drops += w->counters.if_drops;
    t.decoded += w->counters.decoded;
    t.malformed += w->counters.malformed;
    t.events += w->counters.events;
    t.flows_evicted += w->counters.flows_evicted;
  }
  return t;
}

// Used by the metrics endpoint, which agent-only builds without cpp-httplib leave out.
[[maybe_unused]] bool split_host_port(const std::string& s, std::string& host, int& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    port = std::stoi(s.substr(colon + 1));
  } catch (const std::exception&) {
    return false;
  }
  return port > 0 && port < 65536;
}

int run(const AgentConfig& cfg) {
  // Signals are taken by one thread with sigtimedwait; every other thread blocks them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string err;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::string> names = cfg.capture.interfaces.empty() ? cfg.capture.files
                                                                  : cfg.capture.interfaces;
  bool live = !cfg.capture.interfaces.empty();
  for (const auto& name : names) {
    auto w = std::make_unique<Worker>();
    if (live) {
      tapir::capture::LiveOptions o;
      o.interface = name;
      o.bpf_filter = cfg.capture.filter;
      o.snaplen = cfg.capture.snaplen;
      o.promiscuous = cfg.capture.promiscuous;
      o.buffer_mb = cfg.capture.buffer_mb;
      // Events leave in batches anyway; without immediate mode libpcap hands
      // over packets in blocks (cheaper) and next() returns on its timeout,
      // which is when idle batches are sealed and counters published.
      o.immediate = false;
      w->source = tapir::capture::open_live(o, err);
      w->live = true;
    } else {
      w->source = tapir::capture::open_file(name, err, cfg.capture.filter);
    }
    if (!w->source) {
      std::fprintf(stderr, "tapir-agent: %s: %s\n", live ? "capture.interfaces" : "capture.files",
                   err.c_str());
      return 1;
    }
    workers.push_back(std::move(w));
  }

  auto exporter = tapir::agent::Exporter::create(cfg.exporter, err);
  if (!exporter) {
    std::fprintf(stderr, "tapir-agent: %s\n", err.c_str());
    return 1;
  }
  tapir::pipeline::EngineConfig ec;
  ec.analyzers = cfg.analyzers;
  ec.packet_sampling = cfg.packet_sampling;
  ec.flow = cfg.flow;
  try {
    for (auto& w : workers) {
      w->sink = std::make_unique<tapir::agent::BatchingSink>(*exporter, cfg.batching);
      w->engine = std::make_unique<tapir::pipeline::Engine>(ec, *w->sink);
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "tapir-agent: decode.analyzers: %s\n", e.what());
    return 1;
  }

  // Captures are open: nothing below needs root.
  if (!tapir::agent::drop_privileges(cfg.user, cfg.group, {cfg.exporter.spool.dir}, err)) {
    std::fprintf(stderr, "tapir-agent: %s\n", err.c_str());
    return 1;
  }

  auto host = tapir::agent::host_info();
  auto started = std::chrono::system_clock::now();
  exporter->set_reporter([&](tapir::v1::Agent& a) {
    a.set_hostname(host.hostname);
    a.set_version(TAPIR_VERSION);
    a.set_os(host.os);
    a.set_arch(host.arch);
    for (const auto& n : names) a.add_interfaces(n);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(started.time_since_epoch()).count();
    a.mutable_start_time()->set_seconds(us / 1000000);
    a.mutable_start_time()->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
    for (const auto& [k, v] : cfg.labels) (*a.mutable_labels())[k] = v;
    CaptureCounters c = sum(workers);
    auto s = exporter->stats();
    auto* ctr = a.mutable_counters();
    ctr->set_packets_seen(c.packets);
    ctr->set_kernel_drops(c.kernel_drops);
    ctr->set_if_drops(c.if_drops);
    ctr->set_decoded(c.decoded);
    ctr->set_malformed(c.malformed);
    ctr->set_events(c.events);
    ctr->set_events_exported(s.events_acked);
    ctr->set_spooled(s.spool_events);
    ctr->set_dropped(s.dropped_events());
    ctr->set_bytes_seen(c.bytes);
    ctr->set_flows_evicted(c.flows_evicted);
    ctr->set_dropped_queue_full(s.dropped_events_queue_full);
    ctr->set_dropped_spool_full(s.dropped_events_spool_full);
    ctr->set_dropped_spool_error(s.dropped_events_spool_error);
    ctr->set_dropped_shutdown(s.dropped_events_shutdown);
    ctr->set_sequence_write_failures(s.sequence_write_failures);
    ctr->set_store_failures(s.store_failures);
    ctr->set_tls_failures(s.tls_failures);
    a.set_instance_id(s.instance_id);
  });
  exporter->start();

#ifdef TAPIR_AGENT_METRICS
  std::unique_ptr<httplib::Server> http;
  std::thread http_thread;
  if (!cfg.metrics_listen.empty()) {
    std::string mhost;
    int mport = 0;
    if (!split_host_port(cfg.metrics_listen, mhost, mport)) {
      std::fprintf(stderr, "tapir-agent: metrics.listen: '%s' is not HOST:PORT\n",
                   cfg.metrics_listen.c_str());
      return 1;
    }
    http = std::make_unique<httplib::Server>();
    http->Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
      res.set_content(tapir::agent::prometheus_text(exporter->stats(), sum(workers), cfg.id),
                      "text/plain; version=0.0.4");
    });
    if (!http->bind_to_port(mhost, mport)) {
      std::fprintf(stderr, "tapir-agent: metrics.listen: cannot listen on %s\n",
                   cfg.metrics_listen.c_str());
      return 1;
    }
    http_thread = std::thread([&] { http->listen_after_bind(); });
  }
#else
  if (!cfg.metrics_listen.empty())
    std::fprintf(stderr, "tapir-agent: warning: metrics.listen ignored: built without cpp-httplib\n");
#endif

  std::fprintf(stderr, "tapir-agent: %s %s, %zu %s, exporting to %s as '%s'\n",
               live ? "capturing on" : "replaying", names.front().c_str(), names.size(),
               live ? "interface(s)" : "file(s)", cfg.exporter.transport.collector.c_str(),
               cfg.id.c_str());
  std::atomic<size_t> running{workers.size()};
  for (auto& w : workers)
    w->thread = std::thread([&, wp = w.get()] {
      run_worker(*wp, cfg.capture.realtime);
      --running;
    });

  // Wait for a signal or for every file to be read.
  int got = 0;
  while (running > 0) {
    struct timespec ts {0, 200 * 1000 * 1000};
    int s = sigtimedwait(&sigs, nullptr, &ts);
    if (s == SIGINT || s == SIGTERM) {
      got = s;
      g_stop = true;
      for (auto& w : workers) w->source->stop();
      break;
    }
  }
  for (auto& w : workers) w->thread.join();
  int rc = 0;
  for (auto& w : workers)
    if (!w->error.empty()) {
      std::fprintf(stderr, "tapir-agent: %s: %s\n", w->source->name().c_str(), w->error.c_str());
      rc = 1;
    }
  // Give the collector time to acknowledge; what is left goes to the spool.
  exporter->stop(got ? std::chrono::milliseconds(std::min(cfg.drain_seconds, 2) * 1000)
                     : std::chrono::milliseconds(cfg.drain_seconds * 1000));
#ifdef TAPIR_AGENT_METRICS
  if (http) {
    http->stop();
    http_thread.join();
  }
#endif
  auto c = sum(workers);
  auto s = exporter->stats();
  std::fprintf(stderr,
               "tapir-agent: packets %llu, events %llu, acked events %llu (batches %llu, last "
               "sequence %llu), spooled now %llu events in %llu batches, dropped %llu events, "
               "kernel drops %llu\n",
               (unsigned long long)c.packets, (unsigned long long)s.events_submitted,
               (unsigned long long)s.events_acked, (unsigned long long)s.batches_acked,
               (unsigned long long)s.acked_sequence, (unsigned long long)s.spool_events,
               (unsigned long long)s.spool_batches,
               (unsigned long long)s.dropped_events(),
               (unsigned long long)c.kernel_drops);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-agent: captures packets on interfaces or from capture files, decodes them "
               "into flow, DNS, TLS, HTTP, ARP, ICMP events and streams them to a Tapir collector "
               "over gRPC with mutual TLS."};
  app.footer(kFooter);
  app.set_version_flag("--version", "tapir-agent " TAPIR_VERSION);
  tapir::agent::Flags flags;
  tapir::agent::add_flags(app, flags);
  CLI11_PARSE(app, argc, argv);
  AgentConfig cfg;
  std::string err;
  if (!tapir::agent::load_config(app, flags, cfg, err)) {
    std::fprintf(stderr, "tapir-agent: %s\n", err.c_str());
    return 2;
  }
  return run(cfg);
}
