// tapir-collector: gRPC ingest from agents, the store, and the query API.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "api/server.h"
#include "collector/ingest.h"
#include "common/time.h"
#include "store/store.h"

namespace {

// Parses "500ms", "90", "90s", "15m", "12h", "7d" into nanoseconds; false on error.
bool parse_duration(const std::string& s, int64_t& ns) {
  if (s.empty()) return false;
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 12) return false;
  int64_t n = std::stoll(s.substr(0, i));
  std::string u = s.substr(i);
  if (u == "ms") {
    ns = n * 1'000'000;
    return true;
  }
  int64_t mult = u.empty() || u == "s" ? 1 : u == "m" ? 60 : u == "h" ? 3600 : u == "d" ? 86400 : 0;
  if (!mult) return false;
  ns = n * mult * tapir::kNsPerSec;
  return true;
}

// A positive duration option into milliseconds; false (with a message) on error.
bool duration_option(const char* name, const std::string& text, std::chrono::milliseconds& out) {
  int64_t ns = 0;
  if (!parse_duration(text, ns) || ns <= 0) {
    std::fprintf(stderr, "tapir-collector: bad %s '%s'\n", name, text.c_str());
    return false;
  }
  out = std::chrono::milliseconds(std::max<int64_t>(1, ns / 1'000'000));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tapir-collector: receives events from agents, stores them, serves the query API"};
  std::string db = "tapir.db";
  tapir::collector::IngestOptions ingest;
  tapir::api::ApiOptions api;
  std::string api_listen = "127.0.0.1:8080";
  bool no_api_auth = false;
  std::string retention_age, retention_interval = "60s";
  int64_t retention_bytes = 0;
  app.add_option("--db", db, "SQLite database file")->capture_default_str();
  app.add_option("--listen", ingest.listen, "gRPC address for agents (host:port)")->capture_default_str();
  app.add_option("--cert", ingest.cert_file, "collector certificate (PEM)");
  app.add_option("--key", ingest.key_file, "collector private key (PEM)");
  app.add_option("--ca", ingest.ca_file, "CA certificate that signs agent certificates (PEM)");
  app.add_flag("--insecure", ingest.insecure,
               "plaintext gRPC without client certificates (agent id taken from the batch)");
  app.add_option("--agent-token", ingest.agent_token, "also require this bearer token from agents");
  app.add_option("--max-batch-bytes", ingest.limits.max_batch_bytes,
                 "larger batches are kept in the rejects table (first bytes only) instead of stored")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  int store_retry_s = 30;
  app.add_option("--store-retry", store_retry_s,
                 "seconds a failing store transaction is retried before its agents' streams are "
                 "failed (they resend)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600));
  app.add_option("--api-listen", api_listen, "query API address (host:port, port 0 = any)")
      ->capture_default_str();
  app.add_option("--api-cert", api.tls_cert, "serve the API over HTTPS with this certificate");
  app.add_option("--api-key", api.tls_key, "private key for --api-cert");
  app.add_option("--ui", api.static_dir, "directory with the web UI, served at /");
  app.add_flag("--no-api-auth", no_api_auth, "serve the API without bearer tokens");
  std::string header_timeout = "10s", idle_timeout = "60s";
  app.add_option("--api-header-timeout", header_timeout,
                 "close an API connection whose request head (or TLS handshake) takes longer")
      ->capture_default_str();
  app.add_option("--api-idle-timeout", idle_timeout, "close an idle keep-alive API connection after this")
      ->capture_default_str();
  app.add_option("--api-max-connections", api.max_connections, "API connections open at once (beyond: 503)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--api-max-per-address", api.max_per_address,
                 "API connections open from one client address (beyond: 429)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--api-workers", api.workers, "threads running API store queries")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--api-queue", api.queue, "API requests waiting for a worker (beyond: 503)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1'000'000));
  app.add_option("--api-max-streams", api.max_streams, "live tails open at once (beyond: 503)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1'000'000));
  app.add_option("--retention-age", retention_age, "delete events older than this (e.g. 7d)");
  app.add_option("--retention-bytes", retention_bytes, "keep the database below this many bytes");
  app.add_option("--retention-interval", retention_interval, "how often retention runs")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  ingest.store_retry = std::chrono::seconds(store_retry_s);
  tapir::store::Retention retention;
  int64_t interval_ns = 0;
  if (!retention_age.empty() && !parse_duration(retention_age, retention.max_age_ns)) {
    std::fprintf(stderr, "tapir-collector: bad --retention-age '%s'\n", retention_age.c_str());
    return 2;
  }
  if (!parse_duration(retention_interval, interval_ns) || interval_ns <= 0) {
    std::fprintf(stderr, "tapir-collector: bad --retention-interval '%s'\n", retention_interval.c_str());
    return 2;
  }
  retention.max_bytes = retention_bytes;
  if (!duration_option("--api-header-timeout", header_timeout, api.header_timeout) ||
      !duration_option("--api-idle-timeout", idle_timeout, api.idle_timeout))
    return 2;
  auto colon = api_listen.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "tapir-collector: --api-listen needs host:port\n");
    return 2;
  }
  api.host = api_listen.substr(0, colon);
  try {
    api.port = std::stoi(api_listen.substr(colon + 1));
  } catch (const std::exception&) {
    std::fprintf(stderr, "tapir-collector: bad port in --api-listen '%s'\n", api_listen.c_str());
    return 2;
  }
  api.require_token = !no_api_auth;
  if (ingest.insecure)
    std::fprintf(stderr,
                 "tapir-collector: WARNING: --insecure: agents are not authenticated and events "
                 "travel in plaintext\n");
  if (no_api_auth)
    std::fprintf(stderr, "tapir-collector: WARNING: --no-api-auth: anyone who can connect can read events\n");

  // Signals are handled by sigwait in this thread, so block them everywhere.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<tapir::store::Store> store;
  try {
    store = tapir::store::open_sqlite(db);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tapir-collector: %s\n", e.what());
    return 1;
  }
  tapir::collector::Metrics metrics;
  tapir::collector::IngestServer ingest_server(*store, metrics, ingest);
  tapir::api::ApiServer api_server(*store, api, [&metrics] { return metrics.prometheus(); });
  std::string err;
  if (!ingest_server.start(err)) {
    std::fprintf(stderr, "tapir-collector: %s\n", err.c_str());
    return 1;
  }
  if (!api_server.start(err)) {
    std::fprintf(stderr, "tapir-collector: %s\n", err.c_str());
    ingest_server.stop();
    return 1;
  }
  std::printf("tapir-collector: ingest on port %d (%s), API on http%s://%s:%d, database %s\n",
              ingest_server.port(), ingest.insecure ? "plaintext" : "mTLS",
              api.tls_cert.empty() ? "" : "s", api.host.c_str(), api_server.port(), db.c_str());
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread retention_thread;
  if (retention.max_age_ns > 0 || retention.max_bytes > 0) {
    retention_thread = std::thread([&] {
      auto next = std::chrono::steady_clock::now();
      while (!done) {
        if (std::chrono::steady_clock::now() >= next) {
          try {
            auto now = tapir::wall_now();
            metrics.retention_deleted += static_cast<uint64_t>(store->apply_retention(retention, now));
          } catch (const std::exception& e) {
            std::fprintf(stderr, "tapir-collector: retention: %s\n", e.what());
          }
          next += std::chrono::nanoseconds(interval_ns);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    });
  }

  int sig = 0;
  sigwait(&sigs, &sig);
  std::fprintf(stderr, "tapir-collector: signal %d, stopping\n", sig);
  done = true;
  ingest_server.stop();
  api_server.stop();
  if (retention_thread.joinable()) retention_thread.join();
  return 0;
}
