// Protobuf cost of every event type: SerializeToString (marshal),
// ParseFromString (unmarshal) and encoded size, on varied realistic values.
// Counters: `size` = mean encoded bytes per message.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "events.h"

namespace tapir::bench {
namespace {

// Distinct messages cycled through, so sizes and branches are not one case.
constexpr size_t kVariety = 1024;

template <class M>
double mean_size(const std::vector<M>& v) {
  double total = 0;
  for (auto& m : v) total += static_cast<double>(m.ByteSizeLong());
  return total / static_cast<double>(v.size());
}

template <class M>
void marshal(benchmark::State& state, const std::vector<M>& msgs) {
  std::string out;
  size_t i = 0;
  for (auto _ : state) {
    out.clear();
    msgs[i].SerializeToString(&out);
    benchmark::DoNotOptimize(out.data());
    i = (i + 1) % msgs.size();
  }
  state.counters["size"] = mean_size(msgs);
  state.SetItemsProcessed(state.iterations());
}

template <class M>
void unmarshal(benchmark::State& state, const std::vector<M>& msgs) {
  std::vector<std::string> wire(msgs.size());
  for (size_t k = 0; k < msgs.size(); ++k) msgs[k].SerializeToString(&wire[k]);
  M m;
  size_t i = 0;
  for (auto _ : state) {
    if (!m.ParseFromString(wire[i])) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(&m);
    i = (i + 1) % wire.size();
  }
  state.counters["size"] = mean_size(msgs);
  state.SetItemsProcessed(state.iterations());
}

#define TAPIR_EVENT_BENCH(Name, maker, n)                                     \
  void BM_Marshal_##Name(benchmark::State& s) {                               \
    static const auto msgs = maker(n);                                        \
    marshal(s, msgs);                                                         \
  }                                                                           \
  void BM_Unmarshal_##Name(benchmark::State& s) {                             \
    static const auto msgs = maker(n);                                        \
    unmarshal(s, msgs);                                                       \
  }                                                                           \
  BENCHMARK(BM_Marshal_##Name);                                               \
  BENCHMARK(BM_Unmarshal_##Name)

std::vector<v1::EventBatch> batches100(size_t n) { return make_batches(n, 100); }
std::vector<v1::Flow> flows(size_t n) { return make_flows(n); }
std::vector<v1::Dns> dns(size_t n) { return make_dns(n); }
std::vector<v1::Arp> arps(size_t n) { return make_arps(n); }
std::vector<v1::Icmp> icmps(size_t n) { return make_icmps(n); }
std::vector<v1::Packet> packets(size_t n) { return make_packets(n); }
std::vector<v1::Tls> tls(size_t n) { return make_tls(n); }
std::vector<v1::Http> http(size_t n) { return make_http(n); }
std::vector<v1::Agent> agents(size_t n) { return make_agents(n); }

TAPIR_EVENT_BENCH(Flow, flows, kVariety);
TAPIR_EVENT_BENCH(Dns, dns, kVariety);
TAPIR_EVENT_BENCH(Arp, arps, kVariety);
TAPIR_EVENT_BENCH(Icmp, icmps, kVariety);
TAPIR_EVENT_BENCH(Packet, packets, kVariety);
TAPIR_EVENT_BENCH(Tls, tls, kVariety);
TAPIR_EVENT_BENCH(Http, http, kVariety);
TAPIR_EVENT_BENCH(Agent, agents, kVariety);
// 100 events per batch, the export unit; items = batches, size = bytes per batch.
TAPIR_EVENT_BENCH(EventBatch100, batches100, 64);

}  // namespace
}  // namespace tapir::bench
