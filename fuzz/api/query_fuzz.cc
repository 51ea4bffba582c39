// The API query-string parser on arbitrary input: the first byte picks the
// resource, the rest is read as key=value pairs separated by '&'.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/query.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto& resources = tapir::schema::Model::get().resources();
  const auto& r = resources[data[0] % resources.size()];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  tapir::api::Params params;
  size_t start = 0;
  while (start <= text.size()) {
    size_t amp = text.find('&', start);
    std::string pair = text.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = pair.find('=');
    params.emplace_back(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  tapir::store::Query q;
  if (!tapir::api::parse_list_query(r, params, q)) {
    // A successful parse must stay within the column model and the limits.
    if (q.limit > tapir::api::kMaxPageSize || q.offset < 0) __builtin_trap();
    for (const auto& f : q.filters) {
      if (f.column < 0 || static_cast<size_t>(f.column) >= r.columns.size()) __builtin_trap();
      if (f.values.empty() || f.values.size() > tapir::api::kMaxInValues) __builtin_trap();
    }
  }
  tapir::store::AggregateQuery a;
  tapir::api::parse_aggregate_query(r, params, a);
  return 0;
}
