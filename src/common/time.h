// Packet time: signed nanoseconds since the Unix epoch, UTC.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace tapir {

using TimeNs = int64_t;

constexpr TimeNs kNsPerUs = 1000;
constexpr TimeNs kNsPerMs = 1000 * 1000;
constexpr TimeNs kNsPerSec = 1000 * 1000 * 1000;

// Now on the wall clock, the clock live capture stamps packets with.
inline TimeNs wall_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 3339 with as many fractional digits as needed (0, 3, 6 or 9), "Z" zone.
// This is the form protobuf's JSON mapping uses for Timestamp.
std::string format_rfc3339(TimeNs t);
// The same, appended to `out` (no allocation beyond out's growth).
void append_rfc3339(TimeNs t, std::string& out);
// Parses RFC 3339 (Z or +hh:mm offsets, optional fraction); false on error.
bool parse_rfc3339(const std::string& text, TimeNs& out);

}  // namespace tapir
