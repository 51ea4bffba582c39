// tapir query <resource>: a client of the collector's query API.
#include <httplib.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"

namespace tapir::cli {
namespace {

using nlohmann::json;

struct QueryArgs {
  std::string resource;
  std::vector<std::string> where;
  std::string sort, order = "desc", fields, format = "table", url = "http://127.0.0.1:8080", token;
  int limit = 20;
  std::string ca;
};

// "field OP value" -> query parameter; OP one of = != < <= > >= ~ (like) and
// " in " (comma-separated list).
bool where_param(const std::string& w, std::string& key, std::string& value) {
  static const std::pair<const char*, const char*> kOps[] = {
      {"!=", "_ne"}, {"<=", "_lte"}, {">=", "_gte"}, {"~", "_like"},
      {"=", "_eq"},  {"<", "_lt"},   {">", "_gt"},   {" in ", "_in"}};
  size_t best = std::string::npos;
  const std::pair<const char*, const char*>* op = nullptr;
  for (const auto& o : kOps) {
    size_t p = w.find(o.first);
    if (p != std::string::npos && (p < best || (p == best && std::strlen(o.first) > std::strlen(op->first)))) {
      best = p;
      op = &o;
    }
  }
  if (!op || best == 0) return false;
  auto trim = [](std::string s) {
    while (!s.empty() && s.back() == ' ') s.pop_back();
    while (!s.empty() && s.front() == ' ') s.erase(0, 1);
    return s;
  };
  key = trim(w.substr(0, best)) + op->second;
  value = trim(w.substr(best + std::strlen(op->first)));
  return true;
}

std::string cell(const json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

int run(const QueryArgs& a) {
  httplib::Params params;
  for (const auto& w : a.where) {
    std::string k, v;
    if (!where_param(w, k, v)) {
      std::fprintf(stderr, "tapir query: cannot read --where '%s' (use field=value, field>=value ...)\n", w.c_str());
      return 2;
    }
    params.emplace(k, v);
  }
  if (!a.sort.empty()) params.emplace("_sort", a.sort);
  params.emplace("_order", a.order);
  params.emplace("_start", "0");
  params.emplace("_end", std::to_string(a.limit));
  if (!a.fields.empty()) params.emplace("_fields", a.fields);
  httplib::Client cli(a.url);
  if (!a.ca.empty()) cli.set_ca_cert_path(a.ca.c_str());
  if (!a.token.empty()) cli.set_bearer_token_auth(a.token.c_str());
  std::string path = "/api/v1/" + a.resource + "?" + httplib::detail::params_to_query_str(params);
  auto res = cli.Get(path.c_str());
  if (!res) {
    std::fprintf(stderr, "tapir query: cannot reach %s: %s\n", a.url.c_str(),
                 httplib::to_string(res.error()).c_str());
    return 1;
  }
  auto body = json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string msg = body.is_object() && body.contains("error") ? cell(body["error"]) : res->body;
    std::fprintf(stderr, "tapir query: HTTP %d: %s\n", res->status, msg.c_str());
    return 1;
  }
  if (!body.is_array()) {
    std::fprintf(stderr, "tapir query: unexpected answer\n");
    return 1;
  }
  if (a.format == "json") {
    for (const auto& row : body) std::printf("%s\n", row.dump().c_str());
    return 0;
  }
  std::vector<std::string> cols;
  if (!body.empty())
    for (auto it = body[0].begin(); it != body[0].end(); ++it) cols.push_back(it.key());
  if (!a.fields.empty()) {
    cols.clear();
    std::string f = a.fields;
    size_t s = 0;
    while (true) {
      size_t c = f.find(',', s);
      cols.push_back(f.substr(s, c == std::string::npos ? std::string::npos : c - s));
      if (c == std::string::npos) break;
      s = c + 1;
    }
  }
  if (a.format == "csv") {
    for (size_t i = 0; i < cols.size(); ++i) std::printf("%s%s", i ? "," : "", csv_field(cols[i]).c_str());
    std::printf("\n");
    for (const auto& row : body) {
      for (size_t i = 0; i < cols.size(); ++i)
        std::printf("%s%s", i ? "," : "", csv_field(cell(row.value(cols[i], json()))).c_str());
      std::printf("\n");
    }
    return 0;
  }
  std::vector<size_t> width(cols.size());
  for (size_t i = 0; i < cols.size(); ++i) width[i] = cols[i].size();
  for (const auto& row : body)
    for (size_t i = 0; i < cols.size(); ++i)
      width[i] = std::max(width[i], cell(row.value(cols[i], json())).size());
  for (size_t i = 0; i < cols.size(); ++i) std::printf("%-*s  ", static_cast<int>(width[i]), cols[i].c_str());
  std::printf("\n");
  for (const auto& row : body) {
    for (size_t i = 0; i < cols.size(); ++i)
      std::printf("%-*s  ", static_cast<int>(width[i]), cell(row.value(cols[i], json())).c_str());
    std::printf("\n");
  }
  std::printf("(%zu of %s)\n", body.size(), res->get_header_value("X-Total-Count").c_str());
  return 0;
}

RegisterCommand reg{{[](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<QueryArgs>();
  auto* q = app.add_subcommand("query", "query a collector's API");
  q->add_option("resource", a->resource, "flow, dns, tls, http, arp, icmp, packet, agent, rejects")->required();
  q->add_option("--where", a->where, "filter: field=value, field!=v, <, <=, >, >=, ~ (like), 'field in a,b'");
  q->add_option("--sort", a->sort, "field to sort by");
  q->add_option("--order", a->order, "asc or desc")->capture_default_str();
  q->add_option("--limit", a->limit, "rows")->capture_default_str();
  q->add_option("--fields", a->fields, "comma-separated fields to show");
  q->add_option("--format", a->format, "table, json or csv")->check(CLI::IsMember({"table", "json", "csv"}));
  q->add_option("--url", a->url, "API base URL")->capture_default_str();
  q->add_option("--token", a->token, "bearer token (tapir token create)")->envname("TAPIR_TOKEN");
  q->add_option("--ca", a->ca, "CA certificate for an HTTPS API");
  return [a] { return run(*a); };
}}};

}  // namespace
}  // namespace tapir::cli
