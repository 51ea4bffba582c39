#include "api/handlers.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "api/render.h"
#include "api/token.h"

namespace tapir::api {
namespace {

using nlohmann::json;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Lenient form decoding for query strings: a bad escape stays as it is.
std::string decode_form(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < in.size() && hex_value(in[i + 1]) >= 0 &&
               hex_value(in[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

Response json_response(const json& j, int status = 200) {
  Response res;
  set_json(res, status, j.dump(-1, ' ', false, json::error_handler_t::replace));
  return res;
}

Response error(int status, const std::string& message) {
  Response res;
  set_error(res, status, message);
  return res;
}

const std::string* param(const Request& req, std::string_view key) {
  for (const auto& [k, v] : req.params)
    if (k == key) return &v;
  return nullptr;
}

bool valid_resource_name(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

bool all_digits(const std::string& s, size_t max) {
  return !s.empty() && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string content_type_for(const std::string& path) {
  auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot + 1);
  static const std::pair<const char*, const char*> kTypes[] = {
      {"html", "text/html"},       {"js", "text/javascript"},  {"mjs", "text/javascript"},
      {"css", "text/css"},         {"json", "application/json"}, {"map", "application/json"},
      {"svg", "image/svg+xml"},    {"png", "image/png"},        {"jpg", "image/jpeg"},
      {"ico", "image/x-icon"},     {"woff", "font/woff"},       {"woff2", "font/woff2"},
      {"txt", "text/plain"},       {"webmanifest", "application/manifest+json"}, {"wasm", "application/wasm"},
  };
  for (const auto& [e, t] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

}  // namespace

Params parse_query_string(std::string_view qs) {
  Params out;
  size_t start = 0;
  while (start <= qs.size()) {
    size_t amp = qs.find('&', start);
    std::string_view item = qs.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!item.empty()) {
      size_t eq = item.find('=');
      if (eq == std::string_view::npos)
        out.emplace_back(decode_form(item), std::string());
      else
        out.emplace_back(decode_form(item.substr(0, eq)), decode_form(item.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

bool decode_path(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

void set_json(Response& res, int status, const std::string& body) {
  res.status = status;
  res.content_type = "application/json";
  res.body = body;
}

void set_error(Response& res, int status, const std::string& message) {
  set_json(res, status, json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

// ---- tokens ----------------------------------------------------------------

std::optional<std::string> TokenCache::bearer_hash(const std::string& auth) {
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || auth.compare(0, kBearer.size(), kBearer) != 0) return std::nullopt;
  return hash_token(auth.substr(kBearer.size()));
}

bool TokenCache::known(const std::string& hash) {
  std::lock_guard lk(mu_);
  auto it = until_.find(hash);
  if (it == until_.end()) return false;
  if (it->second < std::chrono::steady_clock::now()) {
    until_.erase(it);
    return false;
  }
  return true;
}

void TokenCache::remember(const std::string& hash) {
  std::lock_guard lk(mu_);
  // Only valid tokens are remembered, so this stays as small as the token table.
  until_[hash] = std::chrono::steady_clock::now() + ttl_;
}

bool TokenCache::refused(const std::string& hash) {
  std::lock_guard lk(mu_);
  auto it = refused_until_.find(hash);
  if (it == refused_until_.end()) return false;
  if (it->second < std::chrono::steady_clock::now()) {
    refused_until_.erase(it);
    return false;
  }
  return true;
}

void TokenCache::remember_refused(const std::string& hash) {
  std::lock_guard lk(mu_);
  if (refused_until_.size() >= kMaxRefused) refused_until_.clear();
  refused_until_[hash] = std::chrono::steady_clock::now() + kRefusedTtl;
}

// ---- API routes ------------------------------------------------------------

Handlers::Handlers(store::Store& store, bool require_token) : store_(store), require_token_(require_token) {}

std::optional<Response> Handlers::authenticate(const Request& req) {
  if (!require_token_) return std::nullopt;
  auto hash = TokenCache::bearer_hash(req.authorization);
  bool ok = false;
  if (hash) {
    if (tokens_.known(*hash)) return std::nullopt;
    bool failed = false;
    try {
      ok = store_.has_token_hash(*hash);
    } catch (const std::exception&) {
      failed = true;
    }
    if (ok) tokens_.remember(*hash);
    if (!ok && !failed) tokens_.remember_refused(*hash);
  }
  if (ok) return std::nullopt;
  return unauthorized();
}

Response Handlers::unauthorized() {
  Response res = error(401, "missing or invalid bearer token");
  res.headers.emplace_back("WWW-Authenticate", "Bearer");
  return res;
}

Response Handlers::handle_api(const Request& req) {
  if (auto denied = authenticate(req)) return std::move(*denied);
  try {
    return route_api(req);
  } catch (const std::exception& e) {
    return error(500, e.what());
  }
}

Response Handlers::route_api(const Request& req) {
  constexpr std::string_view kPrefix = "/api/v1/";
  auto no_such = [&] { return error(404, "no such API path: " + req.path.substr(0, 128)); };
  if (req.path.compare(0, kPrefix.size(), kPrefix) != 0) return no_such();
  std::vector<std::string> seg;
  {
    std::string rest = req.path.substr(kPrefix.size());
    size_t start = 0;
    while (true) {
      size_t slash = rest.find('/', start);
      seg.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  if (seg.size() == 1 && seg[0] == "schema") {
    static const std::string doc = schema_document().dump(-1, ' ', false, json::error_handler_t::replace);
    Response res;
    set_json(res, 200, doc);
    return res;
  }
  if (seg.size() == 1 && seg[0] == "openapi.json") {
    static const std::string doc = openapi_document().dump(-1, ' ', false, json::error_handler_t::replace);
    Response res;
    set_json(res, 200, doc);
    return res;
  }
  if (seg.size() == 1 && seg[0] == "stream") {
    std::vector<const schema::Resource*> rs;
    const std::string* types = param(req, "types");
    if (!types || types->empty()) {
      for (const auto& r : schema::Model::get().resources())
        if (r.event_field) rs.push_back(&r);  // events only; rejects by name
    } else {
      size_t start = 0;
      while (start <= types->size()) {
        size_t comma = types->find(',', start);
        std::string t = types->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const auto* r = schema::Model::get().find(t);
        if (!r) return error(400, "unknown resource '" + t.substr(0, 64) + "' in 'types'");
        rs.push_back(r);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
    // Filters other than types only make sense for one resource.
    if (rs.size() > 1 && req.params.size() > (types ? 1u : 0u))
      return error(400, "filters on /api/v1/stream need exactly one type");
    return tail(rs, req);
  }
  if (seg.empty() || seg.size() > 2 || !valid_resource_name(seg[0])) return no_such();
  if (seg.size() == 2 && seg[1] != "stream" && seg[1] != "aggregate" && !all_digits(seg[1], 18)) return no_such();
  const auto* r = schema::Model::get().find(seg[0]);
  if (!r) return error(404, "unknown resource '" + seg[0] + "'");
  if (seg.size() == 1) return list(*r, req);
  if (seg[1] == "stream") return tail({r}, req);
  if (seg[1] == "aggregate") return aggregate(*r, req);
  return one(*r, seg[1]);
}

Response Handlers::list(const schema::Resource& r, const Request& req) {
  store::Query q;
  if (auto e = parse_list_query(r, req.params, q)) return error(400, *e);
  auto rows = store_.query(q);
  json arr = json::array();
  for (const auto& row : rows.rows) arr.push_back(row_json(r, rows.columns, row));
  Response res = json_response(arr);
  res.headers.emplace_back("X-Total-Count", std::to_string(rows.total));
  res.headers.emplace_back("Content-Range", r.name + " " + std::to_string(q.offset) + "-" +
                                                std::to_string(q.offset + static_cast<int64_t>(rows.rows.size())) +
                                                "/" + std::to_string(rows.total));
  return res;
}

Response Handlers::one(const schema::Resource& r, const std::string& id) {
  store::Query q;
  q.resource = &r;
  q.limit = 1;
  q.count_total = false;
  q.filters.push_back({0, store::Op::kEq, {store::Value(static_cast<int64_t>(std::stoll(id)))}});
  auto rows = store_.query(q);
  if (rows.rows.empty()) return error(404, "no " + r.name + " with id " + id);
  return json_response(row_json(r, rows.columns, rows.rows[0]));
}

Response Handlers::aggregate(const schema::Resource& r, const Request& req) {
  store::AggregateQuery q;
  if (auto e = parse_aggregate_query(r, req.params, q)) return error(400, *e);
  auto out = store_.aggregate(q);
  json arr = json::array();
  for (const auto& row : out.rows) {
    json o = json::object();
    for (size_t i = 0; i < out.names.size(); ++i) {
      const std::string& n = out.names[i];
      const schema::Column* c = r.find(n);
      if (n == "bucket" && q.bucket_ns > 0)
        o[n] = value_json(*r.find("ts"), row[i]);
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
  return json_response(arr);
}

// Live tail: rows with an id above the newest one at connect time.
Response Handlers::tail(const std::vector<const schema::Resource*>& resources, const Request& req) {
  auto spec = std::make_shared<TailSpec>();
  Params p = req.params;
  std::erase_if(p, [](const auto& kv) { return kv.first == "types"; });
  for (const auto* r : resources) {
    TailPart part;
    if (auto e = parse_list_query(*r, p, part.query)) return error(400, *e);
    // Equal resource and parameters: the same rows, so one shared poll.
    part.key = r->name + "?";
    for (const auto& [k, v] : p) part.key += k + "=" + v + "&";
    store::Query last;
    last.resource = r;
    last.descending = true;
    last.limit = 1;
    last.fields = {0};
    last.count_total = false;
    auto rows = store_.query(last);
    part.after = rows.rows.empty() ? 0 : std::get<int64_t>(rows.rows[0][0]);
    spec->parts.push_back(std::move(part));
  }
  Response res;
  res.content_type = "text/event-stream";
  res.headers.emplace_back("Cache-Control", "no-cache");
  res.tail = std::move(spec);
  return res;
}

// ---- static files ----------------------------------------------------------

Response StaticFiles::get(const std::string& path) {
  Response res;
  res.content_type = "text/plain";
  if (!enabled()) {
    res.status = 404;
    res.body = "not found\n";
    return res;
  }
  // No "..", no hidden files: only what the UI build put there.
  if (path.empty() || path[0] != '/' || path.find("/.") != std::string::npos || path.find('\\') != std::string::npos) {
    res.status = 404;
    res.body = "not found\n";
    return res;
  }
  std::string rel = path;
  if (rel.back() == '/') rel += "index.html";
  struct stat st {};
  std::string full = dir_ + rel;
  bool found = ::stat(full.c_str(), &st) == 0;
  if (found && S_ISDIR(st.st_mode)) {
    rel += "/index.html";
    full = dir_ + rel;
    found = ::stat(full.c_str(), &st) == 0;
  }
  if (!found || !S_ISREG(st.st_mode)) {
    std::string last = rel.substr(rel.rfind('/') + 1);
    if (last.find('.') != std::string::npos) {
      res.status = 404;
      res.body = "not found\n";
      return res;
    }
    rel = "/index.html";  // a client-side route
    full = dir_ + rel;
    if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      res.status = 404;
      res.body = "not found\n";
      return res;
    }
  }
  int64_t mtime = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  int64_t size = static_cast<int64_t>(st.st_size);
  std::shared_ptr<const std::string> data;
  {
    std::lock_guard lk(mu_);
    auto it = cache_.find(rel);
    if (it != cache_.end() && it->second.mtime_ns == mtime && it->second.size == size) data = it->second.data;
  }
  if (!data) {
    std::ifstream in(full, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in) {
      res.status = 404;
      res.body = "not found\n";
      return res;
    }
    data = std::make_shared<const std::string>(ss.str());
    constexpr int64_t kMaxCached = 64 << 20;
    std::lock_guard lk(mu_);
    auto& e = cache_[rel];
    cached_bytes_ -= e.data ? static_cast<int64_t>(e.data->size()) : 0;
    if (cached_bytes_ + static_cast<int64_t>(data->size()) <= kMaxCached) {
      e = {mtime, size, data};
      cached_bytes_ += static_cast<int64_t>(data->size());
    } else {
      cache_.erase(rel);
    }
  }
  res.status = 200;
  res.content_type = content_type_for(rel);
  res.body = *data;
  if (rel == "/index.html") res.headers.emplace_back("Cache-Control", "no-cache");
  return res;
}

}  // namespace tapir::api
