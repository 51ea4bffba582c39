#include "pipeline/engine.h"

#include <stdexcept>
#include <utility>

#include "analyzers/event_util.h"
#include "flow/stream.h"
#include "pipeline/flow_event.h"

namespace tapir::pipeline {

namespace {

// Analyzers' housekeeping, fragment expiry and flow timeouts run once per
// this much capture time: timeouts are tens of seconds, so a one-second
// granularity costs nothing in accuracy and keeps the per-packet path short.
constexpr TimeNs kTickInterval = kNsPerSec;

// FlowRecord::app_analyzer is a uint8_t with 0xff meaning "none".
constexpr size_t kMaxAnalyzers = flow::kNoAnalyzer;

// Counts what producers commit, so stats().events covers every event type
// whoever produced it.
class CountingSink : public exporter::EventSink {
 public:
  explicit CountingSink(exporter::EventSink& inner) : inner_(inner) {}
  bool wants(v1::Event::BodyCase type) const override { return inner_.wants(type); }
  v1::Event* begin() override { return inner_.begin(); }
  void commit(v1::Event* event) override {
    ++committed_;
    inner_.commit(event);
  }
  void flush() override { inner_.flush(); }
  uint64_t committed() const { return committed_; }

 private:
  exporter::EventSink& inner_;
  uint64_t committed_ = 0;
};

}  // namespace

struct Engine::Impl {
  Impl(const EngineConfig& c, exporter::EventSink& s, flow::FlowObserver* observer)
      : config(c),
        sink(s),
        decoder(c.decoder),
        reassembler(c.reassembly),
        flows(c.flow, observer) {}

  EngineConfig config;
  CountingSink sink;
  decode::Decoder decoder;
  std::vector<std::unique_ptr<analyzers::Analyzer>> analyzers;
  std::vector<bool> wants_streams;  // per analyzer, asked once
  // Analyzers subscribed to each packet kind (indices into `analyzers`).
  std::vector<analyzers::Analyzer*> on_all, on_all_ip, on_arp, on_icmp;
  // Declared after the analyzers so that flow records (and their app_state)
  // are released while the analyzers still exist; the reassembler outlives
  // the streams it accounts for.
  flow::Reassembler reassembler;
  flow::FlowTable flows;

  decode::Packet pkt;
  TimeNs last_tick = 0;
  bool ticked = false;
  uint32_t sample_countdown = 0;
  bool finished = false;
  bool dying = false;

  void tick(TimeNs now);
  void dispatch_app(const analyzers::PacketView& v);
  void deliver(const analyzers::PacketView& v, flow::FlowRecord& f);
  void emit_packet(const decode::Packet& p, const flow::FlowRecord* f);
  void end_flow(flow::FlowRecord& f);
};

Engine::Engine(const EngineConfig& config, exporter::EventSink& sink)
    : impl_(std::make_unique<Impl>(config, sink, this)) {
  auto& reg = analyzers::Registry::instance();
  std::vector<analyzers::AnalyzerInfo> chosen;
  if (config.analyzers.empty()) {
    chosen = reg.all();
  } else {
    for (const auto& name : config.analyzers) {
      const auto* info = reg.find(name);
      if (info == nullptr) {
        std::string known;
        for (const auto& i : reg.all()) known += (known.empty() ? "" : ", ") + i.name;
        throw std::invalid_argument("unknown analyzer '" + name + "' (known: " + known + ")");
      }
      bool dup = false;
      for (const auto& c : chosen) dup = dup || c.name == name;
      if (!dup) chosen.push_back(*info);
    }
  }
  if (chosen.size() > kMaxAnalyzers)
    throw std::invalid_argument("too many analyzers (at most 254)");
  analyzers::AnalyzerContext ctx;
  ctx.sink = &impl_->sink;
  ctx.sampling_rate = config.sampling_rate;
  for (const auto& info : chosen) {
    auto a = info.create(ctx);
    if (!a) throw std::invalid_argument("analyzer '" + info.name + "' could not be created");
    const uint32_t in = a->interests();
    if (in & analyzers::interest::kAll) impl_->on_all.push_back(a.get());
    if (in & analyzers::interest::kAllIp) impl_->on_all_ip.push_back(a.get());
    if (in & analyzers::interest::kArp) impl_->on_arp.push_back(a.get());
    if (in & analyzers::interest::kIcmp) impl_->on_icmp.push_back(a.get());
    impl_->wants_streams.push_back(a->wants_streams());
    impl_->analyzers.push_back(std::move(a));
  }
}

Engine::~Engine() {
  // Records still in the table are released without events: finish() was
  // not called, so nobody wants them.
  impl_->dying = true;
}

void Engine::Impl::tick(TimeNs now) {
  if (ticked && now < last_tick) {
    // The clock went back (files out of order, a bogus stamp earlier): start
    // counting from here rather than waiting for the old time to come round.
    last_tick = now;
    return;
  }
  // Unsigned: stamps anywhere in the int64 range must not overflow here.
  if (ticked && static_cast<uint64_t>(now) - static_cast<uint64_t>(last_tick) <
                    static_cast<uint64_t>(kTickInterval))
    return;
  ticked = true;
  last_tick = now;
  decoder.expire(now);
  flows.expire(now);
  for (auto& a : analyzers) a->on_tick(now);
}

void Engine::process(const decode::RawFrame& frame) {
  Impl& m = *impl_;
  const decode::DecodeStatus st = m.decoder.decode(frame, m.pkt);
  m.tick(frame.ts);
  // A tunnel's own transport counts whatever became of the inner packet.
  m.flows.update_outer(m.pkt);
  if (st != decode::DecodeStatus::kOk) return;
  const decode::Packet& p = m.pkt;

  flow::FlowRecord* f = nullptr;
  flow::Direction dir = flow::Direction::kFromOriginator;
  if (p.is_ip()) {
    bool created = false;
    f = m.flows.update(p, dir, created);
  }
  const analyzers::PacketView v{p, f, dir};

  for (auto* a : m.on_all) a->on_packet(v);
  if (p.is_ip()) {
    for (auto* a : m.on_all_ip) a->on_packet(v);
    if (!m.on_icmp.empty() && (p.ip_proto == decode::ipproto::kIcmp ||
                               p.ip_proto == decode::ipproto::kIcmpv6))
      for (auto* a : m.on_icmp) a->on_packet(v);
    if (m.config.packet_sampling != 0) {
      if (m.sample_countdown == 0) {
        m.emit_packet(p, f);
        m.sample_countdown = m.config.packet_sampling;
      }
      --m.sample_countdown;
    }
    if (f != nullptr && (p.is_tcp() || p.is_udp())) m.dispatch_app(v);
  } else if (p.l3 == decode::L3::kArp) {
    for (auto* a : m.on_arp) a->on_packet(v);
  }
}

void Engine::Impl::dispatch_app(const analyzers::PacketView& v) {
  flow::FlowRecord& f = *v.flow;
  if (f.app_analyzer != flow::kNoAnalyzer) {
    deliver(v, f);
    return;
  }
  // Detection looks at payload only, and only a bounded number of times per
  // flow, so an unrecognised bulk transfer costs nothing after its first
  // few packets.
  if (v.pkt.payload_len == 0 || f.app_tries >= config.max_claim_tries) return;
  ++f.app_tries;
  for (size_t i = 0; i < analyzers.size(); ++i) {
    if (analyzers[i]->claim(v)) {
      f.app_analyzer = static_cast<uint8_t>(i);
      deliver(v, f);
      return;
    }
  }
}

void Engine::Impl::deliver(const analyzers::PacketView& v, flow::FlowRecord& f) {
  const size_t i = f.app_analyzer;
  if (i >= analyzers.size()) return;
  if (wants_streams[i] && v.pkt.is_tcp()) {
    auto* consumer = dynamic_cast<flow::StreamConsumer*>(f.app_state.get());
    if (consumer != nullptr) reassembler.on_segment(f, v.dir, v.pkt, *consumer);
    return;
  }
  analyzers[i]->on_flow_packet(v);
}

void Engine::Impl::emit_packet(const decode::Packet& p, const flow::FlowRecord* f) {
  if (!sink.wants(v1::Event::kPacket)) return;
  v1::Event* e = sink.begin();
  v1::Packet& m = *e->mutable_packet();
  analyzers::fill_packet_header(m, p, config.sampling_rate * config.packet_sampling);
  if (f != nullptr) m.set_community_id(f->community_id);
  m.set_wire_len(p.wirelen);
  m.set_cap_len(p.caplen);
  m.set_ether_type(p.ether_type);
  m.set_ttl(p.ttl);
  m.set_ip_id(p.ip_id);
  if (p.ip_proto == decode::ipproto::kTcp) {
    m.set_tcp_flags(p.tcp_flags);
    m.set_tcp_seq(p.tcp_seq);
    m.set_tcp_ack(p.tcp_ack);
    m.set_tcp_window(p.tcp_window);
  }
  m.set_payload_len(p.payload_len);
  std::string layers;
  for (uint8_t i = 0; i < p.layer_count && i < p.layers.size(); ++i) {
    if (!layers.empty()) layers += '/';
    layers += decode::layer_tag_name(static_cast<decode::LayerTag>(p.layers[i]));
  }
  m.set_layers(std::move(layers));
  m.set_reassembled(p.reassembled);
  sink.commit(e);
}

void Engine::Impl::end_flow(flow::FlowRecord& f) {
  if (dying) return;
  const size_t i = f.app_analyzer;
  // An active-timeout report is a progress record: the flow goes on in the
  // same record, so its analyzer state and byte streams must stay intact.
  const bool continues = f.end_reason == flow::EndReason::kActive;
  if (i < analyzers.size() && !continues) {
    if (wants_streams[i] && f.streams) {
      auto* consumer = dynamic_cast<flow::StreamConsumer*>(f.app_state.get());
      if (consumer != nullptr) reassembler.on_flow_end(f, *consumer);
    }
    analyzers[i]->on_flow_end(f);
  }
  if (!sink.wants(v1::Event::kFlow)) return;
  v1::Event* e = sink.begin();
  fill_flow_event(f, *e->mutable_flow(), config.sampling_rate);
  sink.commit(e);
}

void Engine::on_flow_end(flow::FlowRecord& f) {
  if (impl_) impl_->end_flow(f);
}

void Engine::advance(TimeNs now) {
  Impl& m = *impl_;
  if (m.finished || (m.ticked && now < m.last_tick)) return;
  m.tick(now);
}

void Engine::finish() {
  Impl& m = *impl_;
  if (m.finished) return;
  m.finished = true;
  m.flows.flush(flow::EndReason::kShutdown);
  for (auto& a : m.analyzers) a->on_shutdown();
  m.sink.flush();
}

EngineStats Engine::stats() const {
  EngineStats s;
  s.decode = impl_->decoder.stats();
  s.flow = impl_->flows.stats();
  s.reassembly = impl_->reassembler.stats();
  s.events = impl_->sink.committed();
  return s;
}

}  // namespace tapir::pipeline
