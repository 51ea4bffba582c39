#include "api/render.h"

#include <stdexcept>

#include "api/query.h"
#include "common/time.h"

namespace tapir::api {

using schema::ColType;
using nlohmann::json;

json value_json(const schema::Column& c, const store::Value& v) {
  if (std::holds_alternative<std::monostate>(v)) return nullptr;
  if (const auto* s = std::get_if<std::string>(&v)) {
    if (c.type == ColType::kJson) {
      // Written by the one JSON writer (schema/json.h), which always makes
      // valid JSON: text that does not parse is a damaged store. Say so
      // rather than hand it out as a string of another type.
      auto j = json::parse(*s, nullptr, false);
      if (j.is_discarded())
        throw std::runtime_error("stored value of field '" + c.name + "' is not valid JSON");
      return j;
    }
    return *s;
  }
  if (const auto* d = std::get_if<double>(&v)) return *d;
  int64_t n = std::get<int64_t>(v);
  switch (c.type) {
    case ColType::kTimestamp:
      return format_rfc3339(n);
    case ColType::kBool:
      return n != 0;
    case ColType::kUint:
      return static_cast<uint64_t>(n);
    case ColType::kEnum: {
      const auto* ev = c.enum_type ? c.enum_type->FindValueByNumber(static_cast<int>(n)) : nullptr;
      if (ev) return ev->name();
      return n;
    }
    default:
      return n;
  }
}

json row_json(const schema::Resource& r, const std::vector<int>& columns,
              const std::vector<store::Value>& row) {
  json o = json::object();
  for (size_t i = 0; i < columns.size() && i < row.size(); ++i) {
    const auto& c = r.columns[static_cast<size_t>(columns[i])];
    try {
      o[c.name] = value_json(c, row[i]);
    } catch (const std::runtime_error& e) {
      std::string where = r.name;
      if (o.contains("id")) where += " row " + o["id"].dump();
      throw std::runtime_error(where + ": " + e.what());
    }
  }
  return o;
}

namespace {

json enum_values(const schema::Column& c) {
  json a = json::array();
  if (!c.enum_type) return a;
  for (int i = 0; i < c.enum_type->value_count(); ++i)
    a.push_back({{"name", c.enum_type->value(i)->name()}, {"number", c.enum_type->value(i)->number()}});
  return a;
}

json openapi_type(const schema::Column& c) {
  switch (c.type) {
    case ColType::kInt:
      return {{"type", "integer"}, {"format", "int64"}};
    case ColType::kUint:
      return {{"type", "integer"}, {"format", "int64"}, {"minimum", 0}};
    case ColType::kBool:
      return {{"type", "boolean"}};
    case ColType::kDouble:
      return {{"type", "number"}};
    case ColType::kTimestamp:
      return {{"type", "string"}, {"format", "date-time"}, {"nullable", true}};
    case ColType::kIp:
      return {{"type", "string"}, {"format", "ip"}, {"nullable", true}};
    case ColType::kMac:
      return {{"type", "string"}, {"format", "mac"}, {"nullable", true}};
    case ColType::kHex:
    case ColType::kBytes:
      return {{"type", "string"}, {"format", "hex"}, {"nullable", true}};
    case ColType::kEnum: {
      json names = json::array();
      if (c.enum_type)
        for (int i = 0; i < c.enum_type->value_count(); ++i) names.push_back(c.enum_type->value(i)->name());
      return {{"type", "string"}, {"enum", names}};
    }
    case ColType::kJson:
      if (c.path.empty() || !c.path.back()->is_repeated() || c.path.back()->is_map())
        return {{"type", "object"}, {"nullable", true}};
      return {{"type", "array"}, {"items", json::object()}};
    case ColType::kText:
      return {{"type", "string"}};
  }
  return {{"type", "string"}};
}

}  // namespace

json schema_document() {
  json resources = json::array();
  for (const auto& r : schema::Model::get().resources()) {
    json fields = json::array();
    for (const auto& c : r.columns) {
      json f = {{"name", c.name},
                {"type", schema::col_type_name(c.type)},
                {"description", c.description},
                {"operators", operators_for(c.type)},
                {"sortable", true}};
      if (c.type == ColType::kIp || c.type == ColType::kMac || c.type == ColType::kHex)
        f["format"] = schema::col_type_name(c.type);
      if (c.type == ColType::kEnum) f["enum"] = enum_values(c);
      if (!c.path.empty()) {
        std::string p;
        for (const auto* fd : c.path) p += (p.empty() ? "" : ".") + fd->name();
        f["proto_path"] = p;
      }
      fields.push_back(std::move(f));
    }
    resources.push_back({{"name", r.name},
                         {"kind", r.event_field ? "event" : "collector"},
                         {"message", r.message->full_name()},
                         {"description", r.description},
                         {"path", "/api/v1/" + r.name},
                         {"fields", std::move(fields)}});
  }
  return {{"version", 1},
          {"paging", {{"max_page_size", kMaxPageSize}, {"max_in_values", kMaxInValues}}},
          {"resources", std::move(resources)}};
}

json openapi_document() {
  json paths = json::object();
  json schemas = json::object();
  auto param = [](const std::string& name, const std::string& desc, json schema) {
    return json{{"name", name}, {"in", "query"}, {"required", false}, {"description", desc},
                {"schema", std::move(schema)}};
  };
  for (const auto& r : schema::Model::get().resources()) {
    std::string cap = r.name;
    cap[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(cap[0])));
    json props = json::object();
    for (const auto& c : r.columns) {
      json t = openapi_type(c);
      t["description"] = c.description;
      props[c.name] = std::move(t);
    }
    schemas[cap] = {{"type", "object"}, {"description", r.description}, {"properties", props}};
    json params = json::array();
    params.push_back(param("_sort", "Field to sort by (default id).", {{"type", "string"}}));
    params.push_back(param("_order", "asc or desc.", {{"type", "string"}, {"enum", {"asc", "desc"}}}));
    params.push_back(param("_start", "First row (0-based).", {{"type", "integer"}}));
    params.push_back(param("_end", "Row after the last (at most _start + " +
                                       std::to_string(kMaxPageSize) + ").",
                           {{"type", "integer"}}));
    params.push_back(param("_fields", "Comma-separated fields to return.", {{"type", "string"}}));
    params.push_back(param("q", "Free text searched in the string fields.", {{"type", "string"}}));
    for (const auto& c : r.columns) {
      for (const auto& op : operators_for(c.type)) {
        json s = {{"type", "string"}};
        params.push_back(param(c.name + "_" + op, c.description, s));
      }
    }
    json list_ok = {
        {"description", "Matching " + r.name + " events; X-Total-Count holds the number of matches."},
        {"headers", {{"X-Total-Count", {{"schema", {{"type", "integer"}}}}}}},
        {"content",
         {{"application/json",
           {{"schema", {{"type", "array"}, {"items", {{"$ref", "#/components/schemas/" + cap}}}}}}}}}};
    json err = {{"description", "Unknown field, bad operator or bad value"},
                {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}};
    json unauth = {{"description", "Missing or invalid bearer token"}};
    paths["/api/v1/" + r.name] = {
        {"get",
         {{"summary", "List " + r.name + " events"},
          {"description", r.description},
          {"operationId", "list_" + r.name},
          {"parameters", params},
          {"responses", {{"200", list_ok}, {"400", err}, {"401", unauth}}}}}};
    paths["/api/v1/" + r.name + "/{id}"] = {
        {"get",
         {{"summary", "One " + r.name + " event"},
          {"operationId", "get_" + r.name},
          {"parameters",
           {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "integer"}}}}}},
          {"responses",
           {{"200",
             {{"description", "The event"},
              {"content",
               {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + cap}}}}}}}}},
            {"404", {{"description", "No such event"}}},
            {"401", unauth}}}}}};
    json agg_params = params;
    agg_params.push_back(param("group_by", "Comma-separated fields to group by.", {{"type", "string"}}));
    agg_params.push_back(param("metrics", "count, sum:<field>, avg:<field>, min:<field>, max:<field>.",
                               {{"type", "string"}}));
    agg_params.push_back(param("bucket", "Time bucket on ts (60s, 5m, 1h, 1d).", {{"type", "string"}}));
    agg_params.push_back(param("_limit", "Groups to return.", {{"type", "integer"}}));
    paths["/api/v1/" + r.name + "/aggregate"] = {
        {"get",
         {{"summary", "Aggregate " + r.name + " events"},
          {"operationId", "aggregate_" + r.name},
          {"parameters", agg_params},
          {"responses",
           {{"200", {{"description", "One object per group"},
                     {"content", {{"application/json", {{"schema", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}}}}},
            {"400", err},
            {"401", unauth}}}}}};
    paths["/api/v1/" + r.name + "/stream"] = {
        {"get",
         {{"summary", "Live tail of new " + r.name + " events (Server-Sent Events)"},
          {"operationId", "stream_" + r.name},
          {"parameters", params},
          {"responses", {{"200", {{"description", "text/event-stream"}}}, {"401", unauth}}}}}};
  }
  schemas["Error"] = {{"type", "object"}, {"properties", {{"error", {{"type", "string"}}}}}};
  paths["/api/v1/schema"] = {{"get", {{"summary", "Resources and fields"}, {"operationId", "schema"},
                                      {"responses", {{"200", {{"description", "The schema"}}}}}}}};
  return {{"openapi", "3.0.3"},
          {"info", {{"title", "Tapir query API"}, {"version", "1"}}},
          {"security", {{{"bearer", json::array()}}}},
          {"components",
           {{"schemas", schemas},
            {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
          {"paths", paths}};
}

}  // namespace tapir::api
