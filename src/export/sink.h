// Where events go. Analyzers and the flow table fill events in place in the
// sink's current batch (no copy), then commit them.
#pragma once

#include "tapir/v1/events.pb.h"

namespace tapir::exporter {

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Whether events of this type are wanted at all; producers skip building
  // unwanted events. Check before begin().
  virtual bool wants(v1::Event::BodyCase type) const = 0;
  // An empty event, owned by the sink, for the caller to fill; it must be
  // handed back with commit() before the next begin().
  virtual v1::Event* begin() = 0;
  virtual void commit(v1::Event* event) = 0;
  // Hands on whatever is batched (end of capture, timer).
  virtual void flush() = 0;
};

}  // namespace tapir::exporter
