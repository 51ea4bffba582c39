#include "api/server.h"

#include <httplib.h>

#include <chrono>
#include <cstdio>

#include "api/query.h"
#include "api/render.h"
#include "api/token.h"

namespace tapir::api {
namespace {

using nlohmann::json;

// How often a live tail looks for new rows, and how many it sends per look:
// polling the store (rather than hooking ingest) also shows rows written by
// other collectors sharing the database.
constexpr auto kStreamPoll = std::chrono::milliseconds(250);
constexpr int64_t kStreamBatch = 500;
// A comment line this often keeps proxies from closing an idle tail.
constexpr auto kStreamHeartbeat = std::chrono::seconds(15);
// Live tails each hold a server thread; beyond this many, new ones get 503.
constexpr int kMaxStreams = 8;
// HTTPS keep-alive: cpp-httplib's default re-handshakes every 5 requests.
constexpr size_t kKeepAliveMaxCount = 10000;

void send_json(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, json{{"error", message}}, status);
}

Params params_of(const httplib::Request& req) {
  Params p;
  for (const auto& [k, v] : req.params) p.emplace_back(k, v);
  return p;
}

void add_cors(httplib::Response& res) {
  res.set_header("Access-Control-Allow-Origin", "*");
  res.set_header("Access-Control-Expose-Headers", "X-Total-Count, Content-Range");
  res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
}

}  // namespace

ApiServer::ApiServer(store::Store& store, ApiOptions options, std::function<std::string()> metrics)
    : store_(store), opt_(std::move(options)), metrics_(std::move(metrics)) {}

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(std::string& error) {
  if (!opt_.tls_cert.empty() || !opt_.tls_key.empty()) {
    auto s = std::make_unique<httplib::SSLServer>(opt_.tls_cert.c_str(), opt_.tls_key.c_str());
    if (!s->is_valid()) {
      error = "cannot load API certificate " + opt_.tls_cert + " / key " + opt_.tls_key;
      return false;
    }
    http_ = std::move(s);
  } else {
    http_ = std::make_unique<httplib::Server>();
  }
  int threads = opt_.threads;
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_keep_alive_max_count(kKeepAliveMaxCount);
  install_routes();
  if (opt_.port == 0) {
    port_ = http_->bind_to_any_port(opt_.host);
  } else {
    port_ = http_->bind_to_port(opt_.host, opt_.port) ? opt_.port : -1;
  }
  if (port_ <= 0) {
    error = "cannot listen on " + opt_.host + ":" + std::to_string(opt_.port);
    return false;
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return true;
}

void ApiServer::stop() {
  stopping_ = true;
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void ApiServer::install_routes() {
  auto& s = *http_;
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    add_cors(res);
    if (req.method == "OPTIONS") {
      res.status = 204;
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!opt_.require_token || req.path.rfind("/api/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    std::string auth = req.get_header_value("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    bool ok = false;
    if (auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0) {
      try {
        ok = store_.has_token_hash(hash_token(auth.substr(kBearer.size())));
      } catch (const std::exception&) {
        ok = false;
      }
    }
    if (!ok) {
      res.set_header("WWW-Authenticate", "Bearer");
      send_error(res, 401, "missing or invalid bearer token");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    send_error(res, 500, what);
  });

  s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    try {
      store_.has_token_hash("");
      res.set_content("ok\n", "text/plain");
    } catch (const std::exception& e) {
      res.status = 503;
      res.set_content(std::string("store unavailable: ") + e.what() + "\n", "text/plain");
    }
  });
  s.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_ ? metrics_() : std::string(), "text/plain; version=0.0.4");
  });
  s.Get("/api/v1/schema", [](const httplib::Request&, httplib::Response& res) {
    static const json doc = schema_document();
    send_json(res, doc);
  });
  s.Get("/api/v1/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    static const json doc = openapi_document();
    send_json(res, doc);
  });

  // Live tail: rows with an id above the newest one at connect time.
  auto stream = [this](const std::vector<const schema::Resource*>& resources,
                       const httplib::Request& req, httplib::Response& res) {
    std::vector<store::Query> queries;
    for (const auto* r : resources) {
      store::Query q;
      Params p = params_of(req);
      std::erase_if(p, [](const auto& kv) { return kv.first == "types"; });
      if (auto e = parse_list_query(*r, p, q)) return send_error(res, 400, *e);
      q.sort_column = 0;
      q.descending = false;
      q.offset = 0;
      q.limit = kStreamBatch;
      q.count_total = false;
      store::Query last;
      last.resource = r;
      last.descending = true;
      last.limit = 1;
      last.fields = {0};
      last.count_total = false;
      auto rows = store_.query(last);
      int64_t after = rows.rows.empty() ? 0 : std::get<int64_t>(rows.rows[0][0]);
      q.filters.push_back({0, store::Op::kGt, {store::Value(after)}});
      queries.push_back(std::move(q));
    }
    if (streams_.fetch_add(1) >= kMaxStreams) {
      streams_.fetch_sub(1);
      return send_error(res, 503, "too many live tails open");
    }
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, queries, beat = std::chrono::steady_clock::now()](size_t, httplib::DataSink& sink) mutable {
          if (stopping_) return false;
          bool sent = false;
          for (auto& q : queries) {
            auto rows = store_.query(q);
            const auto& r = *q.resource;
            for (const auto& row : rows.rows) {
              std::string msg = "event: " + r.name + "\nid: " +
                                std::to_string(std::get<int64_t>(row[0])) + "\ndata: " +
                                row_json(r, rows.columns, row).dump(-1, ' ', false,
                                                                    json::error_handler_t::replace) +
                                "\n\n";
              if (!sink.write(msg.data(), msg.size())) return false;
              q.filters.back().values[0] = row[0];
              sent = true;
            }
          }
          auto now = std::chrono::steady_clock::now();
          if (!sent && now - beat > kStreamHeartbeat) {
            static constexpr char kBeat[] = ": keep-alive\n\n";
            if (!sink.write(kBeat, sizeof kBeat - 1)) return false;
            beat = now;
          }
          if (!sent) std::this_thread::sleep_for(kStreamPoll);
          return sink.is_writable() && !stopping_;
        },
        [this](bool) { streams_.fetch_sub(1); });
  };

  s.Get("/api/v1/stream", [stream](const httplib::Request& req, httplib::Response& res) {
    std::vector<const schema::Resource*> rs;
    std::string types = req.get_param_value("types");
    if (types.empty()) {
      for (const auto& r : schema::Model::get().resources())
        if (r.event_field) rs.push_back(&r);  // events only; rejects by name
    } else {
      size_t start = 0;
      while (start <= types.size()) {
        size_t comma = types.find(',', start);
        std::string t = types.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto* r = schema::Model::get().find(t);
        if (!r) return send_error(res, 400, "unknown resource '" + t.substr(0, 64) + "' in 'types'");
        rs.push_back(r);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    // Filters other than types only make sense for one resource.
    if (rs.size() > 1 && req.params.size() > (req.has_param("types") ? 1u : 0u))
      return send_error(res, 400, "filters on /api/v1/stream need exactly one type");
    stream(rs, req, res);
  });

  s.Get(R"(/api/v1/([a-z_]+)/stream)", [stream](const httplib::Request& req, httplib::Response& res) {
    const auto* r = schema::Model::get().find(req.matches[1].str());
    if (!r) return send_error(res, 404, "unknown resource '" + req.matches[1].str() + "'");
    stream({r}, req, res);
  });

  s.Get(R"(/api/v1/([a-z_]+)/aggregate)", [this](const httplib::Request& req, httplib::Response& res) {
    const auto* r = schema::Model::get().find(req.matches[1].str());
    if (!r) return send_error(res, 404, "unknown resource '" + req.matches[1].str() + "'");
    store::AggregateQuery q;
    if (auto e = parse_aggregate_query(*r, params_of(req), q)) return send_error(res, 400, *e);
    auto out = store_.aggregate(q);
    json arr = json::array();
    for (const auto& row : out.rows) {
      json o = json::object();
      for (size_t i = 0; i < out.names.size(); ++i) {
        const std::string& n = out.names[i];
        const schema::Column* c = r->find(n);
        if (n == "bucket" && q.bucket_ns > 0)
          o[n] = value_json(*r->find("ts"), row[i]);
        else if (c)
          o[n] = value_json(*c, row[i]);
        else if (const auto* iv = std::get_if<int64_t>(&row[i]))
          o[n] = *iv;
        else if (const auto* dv = std::get_if<double>(&row[i]))
          o[n] = *dv;
        else
          o[n] = nullptr;
      }
      arr.push_back(std::move(o));
    }
    send_json(res, arr);
  });

  s.Get(R"(/api/v1/([a-z_]+)/([0-9]{1,18}))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto* r = schema::Model::get().find(req.matches[1].str());
    if (!r) return send_error(res, 404, "unknown resource '" + req.matches[1].str() + "'");
    store::Query q;
    q.resource = r;
    q.limit = 1;
    q.count_total = false;
    q.filters.push_back({0, store::Op::kEq, {store::Value(static_cast<int64_t>(std::stoll(req.matches[2].str())))}});
    auto rows = store_.query(q);
    if (rows.rows.empty()) return send_error(res, 404, "no " + r->name + " with id " + req.matches[2].str());
    send_json(res, row_json(*r, rows.columns, rows.rows[0]));
  });

  s.Get(R"(/api/v1/([a-z_]+))", [this](const httplib::Request& req, httplib::Response& res) {
    const auto* r = schema::Model::get().find(req.matches[1].str());
    if (!r) return send_error(res, 404, "unknown resource '" + req.matches[1].str() + "'");
    store::Query q;
    if (auto e = parse_list_query(*r, params_of(req), q)) return send_error(res, 400, *e);
    auto rows = store_.query(q);
    json arr = json::array();
    for (const auto& row : rows.rows) arr.push_back(row_json(*r, rows.columns, row));
    res.set_header("X-Total-Count", std::to_string(rows.total));
    res.set_header("Content-Range", r->name + " " + std::to_string(q.offset) + "-" +
                                        std::to_string(q.offset + static_cast<int64_t>(rows.rows.size())) +
                                        "/" + std::to_string(rows.total));
    send_json(res, arr);
  });

  s.Get(R"(/api/.*)", [](const httplib::Request& req, httplib::Response& res) {
    send_error(res, 404, "no such API path: " + req.path.substr(0, 128));
  });

  if (!opt_.static_dir.empty()) s.set_mount_point("/", opt_.static_dir);
}

}  // namespace tapir::api
