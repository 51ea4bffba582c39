// In-order TCP byte streams for analyzers that need them (DNS over TCP, TLS,
// HTTP). The reassembler delivers each direction's bytes in sequence order,
// exactly once, and reports holes it gives up waiting for.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/time.h"
#include "flow/flow.h"

namespace tapir::flow {

class StreamConsumer {
 public:
  virtual ~StreamConsumer() = default;
  // Contiguous bytes of one direction, in order.
  virtual void on_stream_data(Direction dir, const uint8_t* data, size_t len, TimeNs ts) = 0;
  // `len` bytes of this direction will never arrive (lost, or over a memory
  // bound); data delivered after this resumes past the hole.
  virtual void on_stream_gap(Direction dir, uint64_t len) = 0;
  // The direction ended (FIN or RST, or the flow ended).
  virtual void on_stream_end(Direction /*dir*/) {}
  // Return false once the consumer has all it needs; the reassembler then
  // stops buffering this direction.
  virtual bool wants_more(Direction /*dir*/) const { return true; }
};

}  // namespace tapir::flow
