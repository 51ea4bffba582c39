// What the collector's wire-level batch check costs over a plain libprotobuf
// parse: the same 500-event batches (the agent's default batch, mostly flows
// and DNS) parsed whole with ParseFromString, and split with salvage_batch()
// (walk, descriptor checks, then ParseFromArray per event). Items = events.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "collector/validate.h"
#include "events.h"

namespace tapir::bench {
namespace {

constexpr size_t kBatches = 16;
constexpr size_t kPerBatch = 500;

const std::vector<std::string>& wire_batches() {
  static const std::vector<std::string> wire = [] {
    std::vector<std::string> out;
    for (auto& b : make_batches(kBatches, kPerBatch)) {
      b.set_sequence(1);
      out.push_back(b.SerializeAsString());
    }
    return out;
  }();
  return wire;
}

void BM_Batch_ParseWhole(benchmark::State& state) {
  const auto& wire = wire_batches();
  size_t i = 0;
  for (auto _ : state) {
    v1::EventBatch b;
    if (!b.ParseFromString(wire[i])) state.SkipWithError("parse failed");
    benchmark::DoNotOptimize(&b);
    i = (i + 1) % wire.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kPerBatch));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire[0].size()));
}

void BM_Batch_Salvage(benchmark::State& state) {
  const auto& wire = wire_batches();
  size_t i = 0;
  for (auto _ : state) {
    auto sb = collector::salvage_batch(wire[i], 0);
    if (!sb.rejects.empty()) state.SkipWithError("unexpected reject");
    benchmark::DoNotOptimize(&sb);
    i = (i + 1) % wire.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kPerBatch));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire[0].size()));
}

BENCHMARK(BM_Batch_ParseWhole);
BENCHMARK(BM_Batch_Salvage);

}  // namespace
}  // namespace tapir::bench
