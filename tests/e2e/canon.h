// Canonical text of an event, as `tapir decode` writes it or as the query API
// returns it, so that the two can be compared: flattened as the column model
// flattens, without the store's own columns and without default values.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "schema/columns.h"

namespace tapir {
namespace {

using nlohmann::json;

// A value as proto3 JSON would omit it: zero, empty, false, null, the zero
// enum value. Both sides are compared without such values.
bool is_default(const json& v, const schema::Column* c) {
  if (v.is_null()) return true;
  if (v.is_number()) return v == 0;
  if (v.is_boolean()) return !v.get<bool>();
  if (v.is_string()) {
    if (v.get<std::string>().empty()) return true;
    if (c && c->enum_type && c->enum_type->FindValueByNumber(0) &&
        c->enum_type->FindValueByNumber(0)->name() == v.get<std::string>())
      return true;
    return false;
  }
  if (v.is_array() || v.is_object()) return v.empty();
  return false;
}

// Nested records inside repeated fields: drop their default members.
json strip(const json& v) {
  if (v.is_object()) {
    json o = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      json s = strip(it.value());
      if (!is_default(s, nullptr)) o[it.key()] = s;
    }
    return o;
  }
  if (v.is_array()) {
    json a = json::array();
    for (const auto& e : v) a.push_back(strip(e));
    return a;
  }
  return v;
}

void flatten(const json& v, const std::string& prefix, const schema::Resource& r, json& out) {
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string name = prefix.empty() ? it.key() : prefix + "_" + it.key();
    const schema::Column* c = r.find(name);
    if (it.value().is_object() && !c) {
      flatten(it.value(), name, r, out);
      continue;
    }
    json s = strip(it.value());
    if (!is_default(s, c)) out[name] = s;
  }
}

// API row -> canonical text without the store's own columns and defaults.
std::string canon_api(const json& row, const schema::Resource& r) {
  json o = json::object();
  for (auto it = row.begin(); it != row.end(); ++it) {
    if (it.key() == "id" || it.key() == "agent_id" || it.key() == "ingest_ts") continue;
    const schema::Column* c = r.find(it.key());
    json s = strip(it.value());
    if (!is_default(s, c)) o[it.key()] = s;
  }
  return o.dump();
}

// One `tapir decode` line -> (event type, canonical text).
inline std::pair<std::string, std::string> canon_decode_line(const std::string& line) {
  auto ev = json::parse(line, nullptr, false);
  if (!ev.is_object() || ev.size() != 1) return {};
  std::string type = ev.begin().key();
  const auto* r = schema::Model::get().find(type);
  if (!r) return {};
  json flat = json::object();
  flatten(ev.begin().value(), "", *r, flat);
  return {type, flat.dump()};
}

}  // namespace
}  // namespace tapir
