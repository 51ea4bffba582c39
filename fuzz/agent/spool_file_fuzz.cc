// A spool file as found on disk after a crash or on a damaged disk: the
// checks must reject anything inconsistent without reading out of bounds,
// and whatever passes them must be a parseable EventBatch or be rejected
// by the parser cleanly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "agent/spool.h"
#include "tapir/v1/events.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string image(reinterpret_cast<const char*>(data), size);
  uint64_t seq = 0;
  uint32_t events = 0;
  size_t offset = 0;
  std::string why;
  if (tapir::agent::Spool::check_file(image, seq, events, offset, why)) {
    tapir::v1::EventBatch batch;
    (void)batch.ParseFromArray(image.data() + offset, static_cast<int>(image.size() - offset));
  }
  return 0;
}
