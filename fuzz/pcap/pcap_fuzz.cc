// Fuzz bytes as a whole capture file (pcap or pcapng) through libpcap's file
// reader, the decoder, the flow table, every analyzer and the JSON writer.
#include <cstddef>
#include <cstdint>
#include <string>

#include "capture/source.h"
#include "export/sink.h"
#include "pipeline/engine.h"
#include "schema/json.h"

namespace {

// Renders every event as JSON and forgets it, so the writer is exercised too.
class JsonDiscardSink : public tapir::exporter::EventSink {
 public:
  bool wants(tapir::v1::Event::BodyCase /*type*/) const override { return true; }
  tapir::v1::Event* begin() override {
    event_.Clear();
    return &event_;
  }
  void commit(tapir::v1::Event* e) override {
    out_.clear();
    tapir::schema::append_json(*e, out_);
  }
  void flush() override {}

 private:
  tapir::v1::Event event_;
  std::string out_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string err;
  auto src = tapir::capture::open_memory(data, size, "fuzz", err);
  if (!src) return 0;
  JsonDiscardSink sink;
  tapir::pipeline::EngineConfig cfg;
  cfg.packet_sampling = 1;
  // Small tables so that eviction and limits are reached with small inputs.
  cfg.flow.max_flows = 64;
  cfg.decoder.max_frag_datagrams = 8;
  cfg.reassembly.max_flow_bytes = 4096;
  cfg.reassembly.max_total_bytes = 65536;
  tapir::pipeline::Engine engine(cfg, sink);
  tapir::decode::RawFrame f;
  while (src->next(f) == tapir::capture::ReadStatus::kFrame) engine.process(f);
  engine.finish();
  return 0;
}
