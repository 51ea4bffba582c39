// Feeds a sequence of Ethernet frames to one Decoder so that fragment
// reassembly state (overlaps, evictions, timeouts) is exercised across
// frames. Input: repeated [len:2][clock step:1][frame:len].
#include <cstddef>
#include <cstdint>

#include "decode/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tapir::decode;
  DecoderConfig cfg;
  cfg.max_frag_datagrams = 8;  // small bounds so that eviction paths run
  cfg.max_frag_bytes = 64 * 1024;
  cfg.frag_timeout = 10 * tapir::kNsPerMs;
  Decoder decoder(cfg);
  tapir::TimeNs ts = 0;
  size_t pos = 0;
  // Bounded by the input: each pass consumes at least 3 bytes.
  while (size - pos >= 3) {
    size_t len = static_cast<size_t>(data[pos] << 8 | data[pos + 1]);
    ts += static_cast<tapir::TimeNs>(data[pos + 2]) * tapir::kNsPerMs;
    pos += 3;
    if (len > size - pos) len = size - pos;
    RawFrame f;
    f.ts = ts;
    f.data = data + pos;
    f.caplen = static_cast<uint32_t>(len);
    f.wirelen = f.caplen;
    Packet p;
    decoder.decode(f, p);
    if (decoder.fragment_memory() > cfg.max_frag_bytes) __builtin_trap();
    if (decoder.fragments_pending() > cfg.max_frag_datagrams) __builtin_trap();
    pos += len;
  }
  return 0;
}
