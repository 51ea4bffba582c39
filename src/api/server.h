// The query API over HTTP(S): resources, schema, OpenAPI, live tail,
// metrics and health, plus the UI's static files.
//
// One I/O thread runs every connection event-driven (Boost.Beast on Asio):
// accepting, TLS handshakes, reading request heads under a header timeout,
// closing idle keep-alive connections, writing answers and live-tail events.
// Work that touches the store (every route under /api) runs on a small bounded
// pool of workers; /healthz, /metrics and the UI's files are answered on the
// I/O thread without touching the store, so they stay answerable when every
// worker is busy. Limits on connections per client address and overall refuse
// the excess with 429/503 and a JSON error.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "store/store.h"

namespace tapir::api {

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port (see ApiServer::port())
  std::string static_dir;      // UI files served at /, empty = none
  bool require_token = true;   // bearer token on everything under /api
  std::string tls_cert;        // both set: HTTPS
  std::string tls_key;

  // Workers running store queries (the store keeps 4 read connections), and
  // requests that may wait for one; a request beyond that gets 503.
  int workers = 4;
  int queue = 256;
  // Open connections overall and from one client address; beyond: 503 / 429.
  int max_connections = 4096;
  int max_per_address = 64;
  // A request head (and a TLS handshake) must arrive completely within this
  // once it has started; a keep-alive connection with no request in progress
  // is closed after `idle_timeout`; a response write must make progress
  // within `write_timeout`.
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  // Live tails open at once (beyond: 503), how often the store is polled for
  // them, and the unsent bytes one tail may accumulate before it is dropped
  // as too slow a reader.
  int max_streams = 1024;
  std::chrono::milliseconds tail_poll{250};
  size_t tail_buffer = 4u << 20;
};

class ApiServer {
 public:
  // `metrics` renders the Prometheus text for /metrics (the API's own
  // metrics are appended). It is called on the I/O thread: it must not block.
  ApiServer(store::Store& store, ApiOptions options, std::function<std::string()> metrics);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving in background threads; false with `error` set
  // when the address cannot be bound or the certificate cannot be loaded.
  bool start(std::string& error);
  void stop();
  int port() const { return port_; }
  // The API's Prometheus metrics (connections, refusals, timeouts, queue).
  std::string metrics_text() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace tapir::api
