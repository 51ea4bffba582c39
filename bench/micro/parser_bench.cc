// Cost per message of the protocol parsers on hostile input beside benign
// input of the same size: the hostile messages are the worst cases the
// regression tests build (tests/analyzers/dns_crafted.h), so a parser whose
// work is not linear in its input shows here as a ratio far above 1.
// Counters: `work/byte` = the parser's own work units per message byte.
#include <benchmark/benchmark.h>

#include "analyzers/dns/parser.h"
#include "dns_crafted.h"

namespace tapir::bench {
namespace {

namespace dc = tapir::testing::dns_crafted;
using analyzers::dns::Message;

// A UDP datagram's largest DNS payload with room for IP and UDP headers.
constexpr size_t kSize = 63000;

void dns_parse(benchmark::State& state, const dc::Crafted& c) {
  const Bytes in(c.bytes.data(), c.bytes.size());
  Message m;  // reused, as the analyzer does
  for (auto _ : state) {
    analyzers::dns::parse_message(in, m);
    benchmark::DoNotOptimize(&m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size()));
  state.counters["work/byte"] = static_cast<double>(m.name_work) / static_cast<double>(in.size());
}

void BM_DnsParse_Benign(benchmark::State& s) { dns_parse(s, dc::benign(kSize)); }
void BM_DnsParse_PointerChains(benchmark::State& s) { dns_parse(s, dc::hostile(kSize)); }
void BM_DnsParse_OverlongChains(benchmark::State& s) {
  dns_parse(s, dc::hostile(kSize, dc::Tail::kOverlong));
}
void BM_DnsParse_LoopingChains(benchmark::State& s) {
  dns_parse(s, dc::hostile(kSize, dc::Tail::kLoop));
}
BENCHMARK(BM_DnsParse_Benign)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DnsParse_PointerChains)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DnsParse_OverlongChains)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DnsParse_LoopingChains)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace tapir::bench
