// What the API answers, independent of the HTTP transport: the routes under
// /api (resources, aggregation, schema, OpenAPI, live-tail setup), bearer
// token checks, /healthz and /metrics text, and the UI's static files with
// the single-page-application fallback. The server (server.cc) parses HTTP
// and decides on which thread each of these runs; tests call them directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "api/query.h"
#include "api/tail.h"
#include "store/store.h"

namespace tapir::api {

struct Request {
  std::string method = "GET";
  std::string path;            // percent-decoded, without the query string
  Params params;               // decoded, in key order (repeated keys keep their order)
  std::string authorization;   // the Authorization header, raw
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a live tail: the server answers with an event stream and
  // attaches the connection to the hub with this spec.
  std::shared_ptr<TailSpec> tail;
};

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space), sorted by key
// with repeated keys in their original order.
Params parse_query_string(std::string_view qs);
// Percent-decodes a path ('+' stays '+'); false on a bad escape or NUL.
bool decode_path(std::string_view in, std::string& out);

void set_json(Response& res, int status, const std::string& body);
void set_error(Response& res, int status, const std::string& message);

// Bearer tokens: known hashes are remembered for a while so that a request
// with a valid token is admitted without touching the store.
class TokenCache {
 public:
  explicit TokenCache(std::chrono::seconds ttl = std::chrono::seconds(60)) : ttl_(ttl) {}
  // The hash of the bearer token in an Authorization header; nullopt when
  // the header is not "Bearer <token>".
  static std::optional<std::string> bearer_hash(const std::string& authorization);
  bool known(const std::string& hash);
  void remember(const std::string& hash);
  // Tokens the store did not know, refused without a lookup for a few
  // seconds (so repeating a wrong token costs no store query).
  bool refused(const std::string& hash);
  void remember_refused(const std::string& hash);

 private:
  static constexpr auto kRefusedTtl = std::chrono::seconds(2);
  static constexpr size_t kMaxRefused = 4096;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> until_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> refused_until_;
};

class Handlers {
 public:
  Handlers(store::Store& store, bool require_token);

  bool require_token() const { return require_token_; }
  TokenCache& tokens() { return tokens_; }

  // Everything under /api/: checks the bearer token (through the cache, the
  // store on a miss), then routes. Runs store queries: call it on a worker.
  Response handle_api(const Request& req);
  // The routes after authentication.
  Response route_api(const Request& req);
  // 401 unless the request carries a token the store knows.
  std::optional<Response> authenticate(const Request& req);
  static Response unauthorized();

 private:
  Response list(const schema::Resource& r, const Request& req);
  Response one(const schema::Resource& r, const std::string& id);
  Response aggregate(const schema::Resource& r, const Request& req);
  Response tail(const std::vector<const schema::Resource*>& resources, const Request& req);

  store::Store& store_;
  bool require_token_;
  TokenCache tokens_;
};

// The UI's files under `dir`, cached in memory and re-read when a file
// changes. A path that names no file and has no extension gets index.html
// (client-side routes); a missing asset gets 404.
class StaticFiles {
 public:
  explicit StaticFiles(std::string dir) : dir_(std::move(dir)) {}
  bool enabled() const { return !dir_.empty(); }
  Response get(const std::string& path);

 private:
  struct Entry {
    int64_t mtime_ns = 0;
    int64_t size = 0;
    std::shared_ptr<const std::string> data;
  };
  std::string dir_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  int64_t cached_bytes_ = 0;
};

}  // namespace tapir::api
