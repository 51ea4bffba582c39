#include "api/query.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "common/ip.h"
#include "common/time.h"

namespace tapir::api {
namespace {

using schema::ColType;
using schema::Column;
using store::Op;
using store::Value;

struct OpName {
  const char* suffix;
  Op op;
  const char* name;
};
// Longer suffixes first so that `_gte` is not read as `_gt` + "e".
constexpr OpName kOps[] = {{"_like", Op::kLike, "like"}, {"_gte", Op::kGte, "gte"},
                           {"_lte", Op::kLte, "lte"},   {"_eq", Op::kEq, "eq"},
                           {"_ne", Op::kNe, "ne"},      {"_lt", Op::kLt, "lt"},
                           {"_gt", Op::kGt, "gt"},      {"_in", Op::kIn, "in"}};

bool is_numeric(ColType t) {
  switch (t) {
    case ColType::kInt:
    case ColType::kUint:
    case ColType::kBool:
    case ColType::kDouble:
    case ColType::kTimestamp:
    case ColType::kEnum:
      return true;
    default:
      return false;
  }
}

bool op_allowed(ColType t, Op op) {
  if (op == Op::kLike) return !is_numeric(t);
  if (t == ColType::kJson) return op == Op::kEq || op == Op::kNe;
  if (t == ColType::kBool) return op == Op::kEq || op == Op::kNe || op == Op::kIn;
  return true;
}

const char* op_name(Op op) {
  for (const auto& o : kOps)
    if (o.op == op) return o.name;
  return "eq";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool parse_i64(const std::string& s, int64_t& v) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string::npos ? std::string::npos : pos - start));
    if (pos == std::string::npos) break;
    start = pos + 1;
  }
  return out;
}

// User pattern to a SQL LIKE pattern with '\' escapes; '*' is the wildcard.
std::string like_pattern(const std::string& text) {
  std::string out;
  bool star = text.find('*') != std::string::npos;
  if (!star) out += '%';
  for (char c : text) {
    if (c == '*')
      out += '%';
    else if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  if (!star) out += '%';
  return out;
}

std::string bad(const Column& c, const std::string& text, const char* expected) {
  std::string shown = text.size() > 64 ? text.substr(0, 64) + "..." : text;
  return "bad value '" + shown + "' for field '" + c.name + "': expected " + expected;
}

// Resolves `key` to (column, op): an exact column name means eq.
bool resolve(const schema::Resource& r, const std::string& key, int& col, Op& op) {
  col = r.index_of(key);
  if (col >= 0) {
    op = Op::kEq;
    return true;
  }
  for (const auto& o : kOps) {
    std::string_view k(key), s(o.suffix);
    if (k.size() > s.size() && k.substr(k.size() - s.size()) == s) {
      col = r.index_of(k.substr(0, k.size() - s.size()));
      if (col >= 0) {
        op = o.op;
        return true;
      }
    }
  }
  return false;
}

std::optional<std::string> add_filter(const schema::Resource& r, const std::string& key,
                                      const std::string& value, std::vector<store::Filter>& out) {
  int col;
  Op op;
  if (!resolve(r, key, col, op))
    return "unknown field or parameter '" + key.substr(0, 64) + "' for resource " + r.name;
  const Column& c = r.columns[static_cast<size_t>(col)];
  if (!op_allowed(c.type, op))
    return std::string("operator '") + op_name(op) + "' is not valid for field '" + c.name +
           "' (" + schema::col_type_name(c.type) + ")";
  // A repeated plain `field=value` (json-server's getMany: id=1&id=2) is an
  // IN list.
  for (auto& f : out) {
    if (f.column == col && op == Op::kEq && (f.op == Op::kEq || f.op == Op::kIn)) {
      if (f.values.size() >= kMaxInValues)
        return "too many values for field '" + c.name + "' (at most " +
               std::to_string(kMaxInValues) + ")";
      Value v;
      if (auto e = parse_value(c, Op::kEq, value, v)) return e;
      f.op = Op::kIn;
      f.values.push_back(std::move(v));
      return std::nullopt;
    }
  }
  if (out.size() >= kMaxFilters)
    return "too many filters (at most " + std::to_string(kMaxFilters) + ")";
  store::Filter f;
  f.column = col;
  f.op = op;
  if (op == Op::kIn) {
    auto parts = split(value, ',');
    if (parts.size() > kMaxInValues)
      return "too many values in '" + key + "' (at most " + std::to_string(kMaxInValues) + ")";
    for (const auto& p : parts) {
      Value v;
      if (auto e = parse_value(c, Op::kIn, p, v)) return e;
      f.values.push_back(std::move(v));
    }
  } else {
    Value v;
    if (auto e = parse_value(c, op, value, v)) return e;
    f.values.push_back(std::move(v));
  }
  out.push_back(std::move(f));
  return std::nullopt;
}

std::optional<std::string> parse_count(const std::string& key, const std::string& value,
                                       int64_t max, int64_t& out) {
  if (!parse_i64(value, out) || out < 0 || out > max)
    return "bad value for '" + key + "': expected an integer from 0 to " + std::to_string(max);
  return std::nullopt;
}

std::optional<std::string> parse_order(const std::string& value, bool& desc) {
  std::string o = lower(value);
  if (o == "asc")
    desc = false;
  else if (o == "desc")
    desc = true;
  else
    return "bad value for '_order': expected asc or desc";
  return std::nullopt;
}

std::optional<std::string> parse_bucket(const std::string& text, int64_t& ns) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  int64_t n;
  if (digits == 0 || digits > 9 || !parse_i64(text.substr(0, digits), n) || n <= 0)
    return "bad value for 'bucket': expected a duration like 60s, 5m, 1h, 1d";
  std::string unit = text.substr(digits);
  int64_t mult;
  if (unit == "ms")
    mult = kNsPerMs;
  else if (unit.empty() || unit == "s")
    mult = kNsPerSec;
  else if (unit == "m")
    mult = 60 * kNsPerSec;
  else if (unit == "h")
    mult = 3600 * kNsPerSec;
  else if (unit == "d")
    mult = 86400 * kNsPerSec;
  else
    return "bad value for 'bucket': unknown unit '" + unit.substr(0, 8) + "'";
  ns = n * mult;
  return std::nullopt;
}

}  // namespace

std::vector<std::string> operators_for(ColType t) {
  std::vector<std::string> out;
  for (Op op : {Op::kEq, Op::kNe, Op::kLt, Op::kLte, Op::kGt, Op::kGte, Op::kLike, Op::kIn})
    if (op_allowed(t, op)) out.push_back(op_name(op));
  return out;
}

bool parse_time(const std::string& text, int64_t& ns) {
  if (text.empty() || text.size() > 40) return false;
  if (parse_rfc3339(text, ns)) return true;
  // Epoch seconds with an optional fraction of up to 9 digits.
  size_t dot = text.find('.');
  int64_t sec;
  if (!parse_i64(text.substr(0, dot), sec)) return false;
  // Beyond year ~2262 int64 nanoseconds overflow.
  constexpr int64_t kMaxSeconds = 9'000'000'000;
  if (sec < -kMaxSeconds || sec > kMaxSeconds) return false;
  int64_t frac = 0;
  if (dot != std::string::npos) {
    std::string f = text.substr(dot + 1);
    if (f.empty() || f.size() > 9) return false;
    for (char c : f)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    f.append(9 - f.size(), '0');
    if (!parse_i64(f, frac)) return false;
    if (sec < 0 || text[0] == '-') frac = -frac;
  }
  ns = sec * kNsPerSec + frac;
  return true;
}

std::optional<std::string> parse_value(const Column& c, Op op, const std::string& text,
                                       Value& out) {
  if (text.size() > kMaxValueLength)
    return "value for field '" + c.name + "' is too long (at most " +
           std::to_string(kMaxValueLength) + " bytes)";
  if (op == Op::kLike) {
    out = like_pattern(text);
    return std::nullopt;
  }
  switch (c.type) {
    case ColType::kInt: {
      int64_t v;
      if (!parse_i64(text, v)) return bad(c, text, "an integer");
      out = v;
      return std::nullopt;
    }
    case ColType::kUint: {
      int64_t v;
      if (!parse_i64(text, v) || v < 0) return bad(c, text, "an unsigned integer below 2^63");
      out = v;
      return std::nullopt;
    }
    case ColType::kBool: {
      std::string t = lower(text);
      if (t == "true" || t == "1")
        out = int64_t{1};
      else if (t == "false" || t == "0")
        out = int64_t{0};
      else
        return bad(c, text, "true or false");
      return std::nullopt;
    }
    case ColType::kDouble: {
      char* end = nullptr;
      double d = std::strtod(text.c_str(), &end);
      if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(d))
        return bad(c, text, "a number");
      out = d;
      return std::nullopt;
    }
    case ColType::kTimestamp: {
      int64_t ns;
      if (!parse_time(text, ns)) return bad(c, text, "an RFC 3339 time or epoch seconds");
      out = ns;
      return std::nullopt;
    }
    case ColType::kEnum: {
      int64_t v;
      if (parse_i64(text, v)) {
        out = v;
        return std::nullopt;
      }
      const auto* ev = c.enum_type ? c.enum_type->FindValueByName(text) : nullptr;
      if (!ev) return bad(c, text, "an enum value name or number");
      out = static_cast<int64_t>(ev->number());
      return std::nullopt;
    }
    case ColType::kIp: {
      std::string raw;
      if (!ip_string_to_bytes(text, raw)) return bad(c, text, "an IPv4 or IPv6 address");
      out = ip_bytes_to_string(raw);
      return std::nullopt;
    }
    case ColType::kMac: {
      std::string raw;
      if (!mac_string_to_bytes(text, raw)) return bad(c, text, "a MAC address");
      out = mac_bytes_to_string(raw);
      return std::nullopt;
    }
    case ColType::kHex:
    case ColType::kBytes: {
      std::string t = lower(text);
      if (t.size() % 2 || !std::all_of(t.begin(), t.end(), [](char ch) {
            return std::isxdigit(static_cast<unsigned char>(ch));
          }))
        return bad(c, text, "hex digits");
      out = t;
      return std::nullopt;
    }
    case ColType::kText:
    case ColType::kJson:
      out = text;
      return std::nullopt;
  }
  return bad(c, text, "a value");
}

std::optional<std::string> parse_list_query(const schema::Resource& r, const Params& params,
                                            store::Query& out) {
  out = store::Query{};
  out.resource = &r;
  out.limit = kDefaultPageSize;
  int64_t start = -1, end = -1, limit = -1, page = -1;
  for (const auto& [key, value] : params) {
    if (key == "_sort") {
      int col = r.index_of(value);
      if (col < 0) return "unknown field '" + value.substr(0, 64) + "' in '_sort'";
      out.sort_column = col;
    } else if (key == "_order") {
      if (auto e = parse_order(value, out.descending)) return e;
    } else if (key == "_start") {
      if (auto e = parse_count(key, value, INT64_MAX / 2, start)) return e;
    } else if (key == "_end") {
      if (auto e = parse_count(key, value, INT64_MAX / 2, end)) return e;
    } else if (key == "_limit" || key == "_per_page") {
      if (auto e = parse_count(key, value, kMaxPageSize, limit)) return e;
    } else if (key == "_page") {
      if (auto e = parse_count(key, value, INT64_MAX / (2 * kMaxPageSize), page)) return e;
    } else if (key == "_fields") {
      for (const auto& f : split(value, ',')) {
        int col = r.index_of(f);
        if (col < 0) return "unknown field '" + f.substr(0, 64) + "' in '_fields'";
        if (out.fields.size() >= r.columns.size()) return "too many entries in '_fields'";
        out.fields.push_back(col);
      }
    } else if (key == "q") {
      if (value.size() > kMaxValueLength) return "value for 'q' is too long";
      if (!value.empty()) out.text = like_pattern(value);
    } else {
      if (auto e = add_filter(r, key, value, out.filters)) return e;
    }
  }
  if (start >= 0 || end >= 0) {
    int64_t s = std::max<int64_t>(start, 0);
    int64_t e = end >= 0 ? end : s + kDefaultPageSize;
    if (e < s) return "'_end' is before '_start'";
    if (e - s > kMaxPageSize)
      return "page too large: at most " + std::to_string(kMaxPageSize) + " rows per request";
    out.offset = s;
    out.limit = e - s;
  } else if (limit >= 0 || page >= 0) {
    out.limit = limit >= 0 ? limit : kDefaultPageSize;
    out.offset = page > 0 ? (page - 1) * out.limit : 0;
  }
  return std::nullopt;
}

std::optional<std::string> parse_aggregate_query(const schema::Resource& r, const Params& params,
                                                 store::AggregateQuery& out) {
  out = store::AggregateQuery{};
  out.resource = &r;
  out.limit = kDefaultPageSize;
  bool order_given = false;
  for (const auto& [key, value] : params) {
    if (key == "group_by") {
      for (const auto& g : split(value, ',')) {
        int col = r.index_of(g);
        if (col < 0) return "unknown field '" + g.substr(0, 64) + "' in 'group_by'";
        if (out.group_by.size() >= kMaxGroupBy)
          return "too many group_by fields (at most " + std::to_string(kMaxGroupBy) + ")";
        out.group_by.push_back(col);
      }
    } else if (key == "metrics") {
      for (const auto& m : split(value, ',')) {
        if (out.metrics.size() >= kMaxMetrics)
          return "too many metrics (at most " + std::to_string(kMaxMetrics) + ")";
        store::MetricSpec spec;
        spec.name = m;
        if (m == "count") {
          spec.fn = store::Metric::kCount;
        } else {
          size_t colon = m.find(':');
          std::string fn = m.substr(0, colon);
          if (colon == std::string::npos) return "bad metric '" + m.substr(0, 64) + "'";
          std::string field = m.substr(colon + 1);
          if (fn == "sum")
            spec.fn = store::Metric::kSum;
          else if (fn == "avg")
            spec.fn = store::Metric::kAvg;
          else if (fn == "min")
            spec.fn = store::Metric::kMin;
          else if (fn == "max")
            spec.fn = store::Metric::kMax;
          else
            return "bad metric '" + m.substr(0, 64) + "': expected count, sum:, avg:, min: or max:";
          spec.column = r.index_of(field);
          if (spec.column < 0) return "unknown field '" + field.substr(0, 64) + "' in 'metrics'";
          ColType t = r.columns[static_cast<size_t>(spec.column)].type;
          bool numeric = t == ColType::kInt || t == ColType::kUint || t == ColType::kDouble ||
                         t == ColType::kBool;
          bool orderable = numeric || t == ColType::kTimestamp;
          if ((spec.fn == store::Metric::kSum || spec.fn == store::Metric::kAvg) && !numeric)
            return "metric '" + m + "' needs a numeric field";
          if (!orderable) return "metric '" + m + "' needs a numeric or time field";
        }
        out.metrics.push_back(std::move(spec));
      }
    } else if (key == "bucket") {
      if (!r.find("ts")) return "resource " + r.name + " has no ts field to bucket";
      if (auto e = parse_bucket(value, out.bucket_ns)) return e;
    } else if (key == "_sort") {
      out.sort = value;
    } else if (key == "_order") {
      if (auto e = parse_order(value, out.descending)) return e;
      order_given = true;
    } else if (key == "_limit") {
      if (auto e = parse_count(key, value, kMaxPageSize, out.limit)) return e;
    } else if (key == "q") {
      if (value.size() > kMaxValueLength) return "value for 'q' is too long";
      if (!value.empty()) out.text = like_pattern(value);
    } else {
      if (auto e = add_filter(r, key, value, out.filters)) return e;
    }
  }
  if (out.metrics.empty()) out.metrics.push_back({store::Metric::kCount, -1, "count"});
  if (!out.sort.empty()) {
    bool known = (out.bucket_ns > 0 && out.sort == "bucket");
    for (int g : out.group_by) known |= r.columns[static_cast<size_t>(g)].name == out.sort;
    for (const auto& m : out.metrics) known |= m.name == out.sort;
    if (!known) return "'_sort' must name a group_by field or a metric: '" + out.sort.substr(0, 64) + "'";
  } else if (out.bucket_ns > 0 && !order_given) {
    // Time series read naturally in time order.
    out.sort = "bucket";
    out.descending = false;
  }
  return std::nullopt;
}

}  // namespace tapir::api
