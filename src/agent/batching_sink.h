// The EventSink of one capture worker: events are built in place in a batch
// held in a protobuf arena and handed to the Exporter when the batch reaches
// `max_events` or its first event is `max_delay` old. One sink per engine
// (not thread-safe); all sinks share one Exporter.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>

#include "agent/exporter.h"
#include "export/sink.h"

namespace tapir::agent {

struct BatchingConfig {
  // FACTS.md: ~100+ events per message is where gRPC throughput levels off;
  // 500 keeps messages well under gRPC's 4 MiB default limit.
  uint32_t max_events = 500;
  std::chrono::milliseconds max_delay{1000};
  // Event types to export (empty = all).
  std::set<v1::Event::BodyCase> types;
};

class BatchingSink : public exporter::EventSink {
 public:
  BatchingSink(Exporter& exporter, BatchingConfig config);
  ~BatchingSink() override;

  bool wants(v1::Event::BodyCase type) const override;
  v1::Event* begin() override;
  void commit(v1::Event* event) override;
  void flush() override;
  // Called when the source is idle: seals a batch that is old enough.
  void poll();

  uint64_t events() const { return events_; }

 private:
  void seal();

  Exporter& exporter_;
  BatchingConfig config_;
  OwnedBatch current_;
  std::chrono::steady_clock::time_point first_{};
  uint64_t events_ = 0;
};

}  // namespace tapir::agent
