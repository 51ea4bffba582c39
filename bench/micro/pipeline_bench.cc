// Per-packet cost on the generated workload (tools/gen_workload): decoding
// alone, decoding + flow table, and the whole engine (decode, flows, every
// analyzer, events built) with a sink that drops events. Items = frames, so
// items_per_second is packets/s on one core.
#include <benchmark/benchmark.h>

#include <vector>

#include "decode/decoder.h"
#include "export/sink.h"
#include "flow/flow_table.h"
#include "pipeline/engine.h"
#include "workload.h"

namespace tapir::bench {
namespace {

// Frames generated once and replayed: large enough to cover every session
// kind many times and to exceed the CPU caches, as live traffic does.
constexpr uint64_t kFrames = 200000;

struct Capture {
  std::vector<std::vector<uint8_t>> frames;
  std::vector<TimeNs> ts;
  TimeNs span = 0;
  uint64_t bytes = 0;
};

const Capture& capture() {
  static const Capture c = [] {
    Capture cap;
    workload::Options o;
    o.packets = kFrames;
    o.seed = 1;
    workload::Generator g(o);
    workload::Frame f;
    while (g.next(f)) {
      cap.ts.push_back(static_cast<TimeNs>(f.ts_us) * kNsPerUs);
      cap.bytes += f.bytes.size();
      cap.frames.push_back(std::move(f.bytes));
    }
    cap.span = cap.ts.back() - cap.ts.front() + kNsPerSec;
    return cap;
  }();
  return c;
}

// Replays the capture; every pass is shifted later in time so that clocks
// only move forward (timeouts and reassembly see a continuous capture).
template <class Fn>
void replay(benchmark::State& state, Fn&& fn) {
  const Capture& c = capture();
  size_t i = 0;
  TimeNs shift = 0;
  decode::RawFrame raw;
  for (auto _ : state) {
    raw.ts = c.ts[i] + shift;
    raw.data = c.frames[i].data();
    raw.caplen = raw.wirelen = static_cast<uint32_t>(c.frames[i].size());
    fn(raw);
    if (++i == c.frames.size()) {
      i = 0;
      shift += c.span;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(
      static_cast<double>(state.iterations()) * static_cast<double>(c.bytes) /
      static_cast<double>(c.frames.size())));
}

void BM_Decode(benchmark::State& state) {
  decode::Decoder d;
  decode::Packet p;
  replay(state, [&](const decode::RawFrame& f) { benchmark::DoNotOptimize(d.decode(f, p)); });
}
BENCHMARK(BM_Decode);

class CountingObserver : public flow::FlowObserver {
 public:
  void on_flow_end(flow::FlowRecord&) override { ++ended; }
  uint64_t ended = 0;
};

void BM_DecodeFlowTable(benchmark::State& state) {
  decode::Decoder d;
  decode::Packet p;
  CountingObserver obs;
  flow::FlowConfig cfg;
  flow::FlowTable table(cfg, &obs);
  uint64_t n = 0;
  replay(state, [&](const decode::RawFrame& f) {
    if (d.decode(f, p) != decode::DecodeStatus::kOk) return;
    flow::Direction dir;
    bool created;
    benchmark::DoNotOptimize(table.update(p, dir, created));
    // The engine expires once per batch of packets, not per packet.
    if ((++n & 1023) == 0) table.expire(f.ts);
  });
  state.counters["flows_ended"] = static_cast<double>(obs.ended);
}
BENCHMARK(BM_DecodeFlowTable);

// Accepts every event type and reuses one message: measures building events,
// not storing them.
class DropSink : public exporter::EventSink {
 public:
  bool wants(v1::Event::BodyCase) const override { return true; }
  v1::Event* begin() override { return &event_; }
  void commit(v1::Event* e) override {
    ++events;
    e->Clear();
  }
  void flush() override {}
  uint64_t events = 0;

 private:
  v1::Event event_;
};

void BM_Engine(benchmark::State& state) {
  DropSink sink;
  pipeline::EngineConfig cfg;
  pipeline::Engine engine(cfg, sink);
  replay(state, [&](const decode::RawFrame& f) { engine.process(f); });
  state.counters["events_per_packet"] =
      static_cast<double>(sink.events) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Engine);

}  // namespace
}  // namespace tapir::bench
