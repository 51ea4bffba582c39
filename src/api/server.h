// The query API over HTTP(S): resources, schema, OpenAPI, live tail,
// metrics and health, plus the UI's static files.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "store/store.h"

namespace httplib {
class Server;
}

namespace tapir::api {

struct ApiOptions {
  std::string host = "127.0.0.1";
  int port = 8080;             // 0: any free port (see ApiServer::port())
  std::string static_dir;      // UI files served at /, empty = none
  bool require_token = true;   // bearer token on everything under /api
  std::string tls_cert;        // both set: HTTPS
  std::string tls_key;
  int threads = 16;
};

class ApiServer {
 public:
  // `metrics` renders the Prometheus text for /metrics.
  ApiServer(store::Store& store, ApiOptions options, std::function<std::string()> metrics);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving in a background thread; false with `error` set
  // when the address cannot be bound or the certificate cannot be loaded.
  bool start(std::string& error);
  void stop();
  int port() const { return port_; }

 private:
  void install_routes();

  store::Store& store_;
  ApiOptions opt_;
  std::function<std::string()> metrics_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> streams_{0};
  int port_ = 0;
};

}  // namespace tapir::api
