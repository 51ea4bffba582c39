#include "agent/batching_sink.h"

#include <utility>

namespace tapir::agent {

BatchingSink::BatchingSink(Exporter& exporter, BatchingConfig config)
    : exporter_(exporter), config_(std::move(config)) {
  if (config_.max_events == 0) config_.max_events = 1;
}

BatchingSink::~BatchingSink() { flush(); }

bool BatchingSink::wants(v1::Event::BodyCase type) const {
  return config_.types.empty() || config_.types.count(type) != 0;
}

v1::Event* BatchingSink::begin() {
  if (!current_.batch) {
    current_ = OwnedBatch::make();
    first_ = std::chrono::steady_clock::now();
  }
  return current_.batch->add_events();
}

void BatchingSink::commit(v1::Event* /*event*/) {
  ++events_;
  if (static_cast<uint32_t>(current_.batch->events_size()) >= config_.max_events ||
      std::chrono::steady_clock::now() - first_ >= config_.max_delay)
    seal();
}

void BatchingSink::flush() {
  if (current_.batch && current_.batch->events_size() > 0) seal();
}

void BatchingSink::poll() {
  if (current_.batch && current_.batch->events_size() > 0 &&
      std::chrono::steady_clock::now() - first_ >= config_.max_delay)
    seal();
}

void BatchingSink::seal() {
  exporter_.submit(std::move(current_));
  current_ = OwnedBatch{};
}

}  // namespace tapir::agent
