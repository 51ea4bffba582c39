// The descriptor-driven JSON writer (src/schema/json.h), per event type.
// Counter `json_bytes` = mean line length.
#include <benchmark/benchmark.h>

#include <string>

#include "events.h"
#include "schema/json.h"

namespace tapir::bench {
namespace {

template <class M>
void json(benchmark::State& state, const std::vector<M>& msgs) {
  std::string out;
  size_t i = 0;
  double bytes = 0;
  for (auto _ : state) {
    out.clear();
    schema::append_json(msgs[i], out);
    bytes += static_cast<double>(out.size());
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) % msgs.size();
  }
  state.counters["json_bytes"] = bytes / static_cast<double>(state.iterations());
  state.SetItemsProcessed(state.iterations());
}

void BM_Json_Flow(benchmark::State& s) {
  static const auto m = make_flows(1024);
  json(s, m);
}
void BM_Json_Dns(benchmark::State& s) {
  static const auto m = make_dns(1024);
  json(s, m);
}
void BM_Json_Tls(benchmark::State& s) {
  static const auto m = make_tls(1024);
  json(s, m);
}
void BM_Json_Http(benchmark::State& s) {
  static const auto m = make_http(1024);
  json(s, m);
}
BENCHMARK(BM_Json_Flow);
BENCHMARK(BM_Json_Dns);
BENCHMARK(BM_Json_Tls);
BENCHMARK(BM_Json_Http);

}  // namespace
}  // namespace tapir::bench
