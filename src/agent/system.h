// Host facts for Agent events, privilege dropping, Prometheus text.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "agent/exporter.h"

namespace tapir::agent {

struct HostInfo {
  std::string hostname;
  std::string os;    // e.g. "Linux 6.1.0-18-amd64"
  std::string arch;  // e.g. "x86_64"
};
HostInfo host_info();

// Switches to `user` (and `group`, default the user's primary group) for good:
// supplementary groups are replaced, and the switch is checked to be
// irreversible. Capture handles opened before stay usable, so no capability
// (CAP_NET_RAW included) is kept. `chown_paths` are handed to the user first
// (the spool). false and `err` on failure; a no-op when `user` is empty.
bool drop_privileges(const std::string& user, const std::string& group,
                     const std::vector<std::string>& chown_paths, std::string& err);

// Capture-side counters summed over workers.
struct CaptureCounters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t kernel_drops = 0;
  uint64_t if_drops = 0;
  uint64_t decoded = 0;
  uint64_t malformed = 0;
  uint64_t events = 0;
  uint64_t flows_evicted = 0;
};

// Prometheus text exposition format (version 0.0.4).
std::string prometheus_text(const ExporterStats& ex, const CaptureCounters& cap,
                            const std::string& agent_id);

}  // namespace tapir::agent
