// Capture sources: where frames come from. libpcap (files and live
// interfaces) is the portable default; OS-specific sources (AF_PACKET on
// Linux) live behind this same interface so nothing above depends on them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "decode/packet.h"

namespace tapir::capture {

enum class ReadStatus : uint8_t {
  kFrame,    // `frame` holds the next frame (valid until the next call)
  kTimeout,  // live source: nothing arrived within the poll interval
  kEnd,      // file fully read, or source stopped
  kError,    // unrecoverable; error() says what (frames before it were delivered)
};

struct SourceStats {
  uint64_t frames = 0;
  uint64_t bytes = 0;
  uint64_t kernel_drops = 0;  // pcap_stats ps_drop (live only)
  uint64_t if_drops = 0;      // pcap_stats ps_ifdrop (live only)
};

class Source {
 public:
  virtual ~Source() = default;
  virtual ReadStatus next(decode::RawFrame& frame) = 0;
  // Makes a blocked next() return kEnd soon (callable from another thread or a signal handler path).
  virtual void stop() = 0;
  virtual SourceStats stats() = 0;
  // Human-readable name: file path or interface.
  virtual const std::string& name() const = 0;
  // Message of the last kError.
  virtual const std::string& error() const = 0;
};

struct LiveOptions {
  std::string interface;
  std::string bpf_filter;
  int snaplen = 262144;
  bool promiscuous = true;
  bool immediate = true;
  int buffer_mb = 32;
  int timeout_ms = 100;  // poll interval for kTimeout
};

// Opens a pcap or pcapng file; nullptr and `err` ("FILE: problem") on failure.
std::unique_ptr<Source> open_file(const std::string& path, std::string& err,
                                  const std::string& bpf_filter = {});
// Reads a pcap or pcapng file image from memory (fuzzing, tests); `data` must
// outlive the source. `name` stands in for the path in messages.
std::unique_ptr<Source> open_memory(const uint8_t* data, size_t len, const std::string& name,
                                    std::string& err, const std::string& bpf_filter = {});
// Opens a live interface with libpcap; nullptr and `err` on failure.
std::unique_ptr<Source> open_live(const LiveOptions& options, std::string& err);

}  // namespace tapir::capture
