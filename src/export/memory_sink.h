// A sink that keeps events in memory: for tests, benchmarks and tools.
#pragma once

#include <set>
#include <utility>
#include <vector>

#include "export/sink.h"

namespace tapir::exporter {

class MemorySink : public EventSink {
 public:
  MemorySink() = default;
  // Keeps only events of these types (empty = all).
  explicit MemorySink(std::set<v1::Event::BodyCase> types) : types_(std::move(types)) {}

  bool wants(v1::Event::BodyCase type) const override {
    return types_.empty() || types_.count(type) != 0;
  }
  v1::Event* begin() override {
    events_.emplace_back();
    return &events_.back();
  }
  void commit(v1::Event* /*event*/) override { ++committed_; }
  void flush() override { ++flushes_; }

  const std::vector<v1::Event>& events() const { return events_; }
  std::vector<v1::Event> take() { return std::exchange(events_, {}); }
  size_t committed() const { return committed_; }

  // Events of one type, in order.
  template <class Fn>
  void for_each(v1::Event::BodyCase type, Fn fn) const {
    for (const auto& e : events_)
      if (e.body_case() == type) fn(e);
  }

 private:
  std::set<v1::Event::BodyCase> types_;
  std::vector<v1::Event> events_;
  size_t committed_ = 0;
  size_t flushes_ = 0;
};

}  // namespace tapir::exporter
