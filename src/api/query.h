// Turns a query string into a validated store query. Every name is looked up
// in the column model (the whitelist); every value is parsed for its column's
// type; anything else is an error naming the offending parameter. The store
// only ever binds the parsed values, so no user text reaches SQL.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "schema/columns.h"
#include "store/store.h"

namespace tapir::api {

using Params = std::vector<std::pair<std::string, std::string>>;

// Page size when none is given, and the largest one accepted: a page is
// built in memory and rendered as one JSON document.
constexpr int64_t kDefaultPageSize = 100;
constexpr int64_t kMaxPageSize = 1000;
// Values in one `_in` filter: enough for a hand-picked list, small enough
// that the SQL statement stays far below SQLite's 32766 bound parameters.
constexpr size_t kMaxInValues = 100;
// Filters in one request (each becomes a bound SQL condition).
constexpr size_t kMaxFilters = 32;
// Longest accepted parameter value.
constexpr size_t kMaxValueLength = 4096;
// Group-by columns and metrics in one aggregation.
constexpr size_t kMaxGroupBy = 4;
constexpr size_t kMaxMetrics = 8;

// The operators a column of this type accepts ("eq", "ne", "lt" ...).
std::vector<std::string> operators_for(schema::ColType t);

// Parses one filter value for a column (op kLike: a pattern where '*' is a
// wildcard; without '*' it matches a substring). Returns an error message.
std::optional<std::string> parse_value(const schema::Column& c, store::Op op,
                                       const std::string& text, store::Value& out);

// Parses an RFC 3339 time or epoch seconds (fraction allowed) to ns.
bool parse_time(const std::string& text, int64_t& ns);

// List query: filters, q, _sort/_order, _start/_end or _limit/_page, _fields.
std::optional<std::string> parse_list_query(const schema::Resource& r, const Params& params,
                                            store::Query& out);

// Aggregation: group_by, metrics, bucket, filters, q, _sort/_order, _limit.
std::optional<std::string> parse_aggregate_query(const schema::Resource& r, const Params& params,
                                                 store::AggregateQuery& out);

}  // namespace tapir::api
