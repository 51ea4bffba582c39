// The agent's on-disk spool: batches the collector has not acknowledged yet,
// kept when the collector is unreachable or slow, and the persisted sequence
// counter. One file per batch, written to a temporary name, fsync'd and
// renamed, so a crash leaves either the whole batch or nothing; every file
// carries a CRC-32 of its payload that is checked on recovery and on read.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

namespace tapir::agent {

struct SpoolConfig {
  // Directory (created if missing). Empty: no spool, batches live in memory only.
  std::string dir;
  // Bounds on the batch files kept; when reached the exporter drops by policy.
  uint64_t max_bytes = 1ull << 30;
  uint64_t max_batches = 100000;
  // fsync every batch file and the directory (off only for tests/benchmarks on tmpfs).
  bool fsync = true;
};

// A new agent instance id: 16 hex digits from std::random_device.
std::string random_instance_id();

struct SpoolFile {
  uint64_t sequence = 0;
  uint32_t events = 0;
  uint64_t bytes = 0;  // file size
};

class Spool {
 public:
  // Opens (creating) the directory and recovers the batches found there, in
  // sequence order. Files that fail their CRC or header checks are renamed to
  // `*.corrupt` (kept for inspection, never resent) and counted. nullptr and
  // `err` when the directory cannot be used.
  static std::unique_ptr<Spool> open(const SpoolConfig& config, std::string& err);

  // Writes one batch; false and `err` on an I/O error (nothing half-written stays).
  bool write(uint64_t sequence, uint32_t events, const std::string& payload, std::string& err);
  // Reads and checks a batch; false and `err` if it is missing or damaged.
  bool read(uint64_t sequence, std::string& payload, std::string& err) const;
  // Forgets a batch (acknowledged or dropped).
  void remove(uint64_t sequence);

  // Files in sequence order.
  const std::deque<SpoolFile>& files() const { return files_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t events() const { return events_; }
  // Whether one more file of `size` bytes would pass a bound.
  bool would_overflow(uint64_t size) const;
  uint64_t corrupt_recovered() const { return corrupt_; }
  const SpoolConfig& config() const { return config_; }

  // This spool's instance id (16 hex digits), made at random the first time
  // and kept in the directory; empty and `err` if it cannot be written.
  std::string instance_id(std::string& err);

  // The next sequence number to hand out, as persisted (1 for a new directory).
  uint64_t load_next_sequence() const;
  bool store_next_sequence(uint64_t next, std::string& err);

  // Checks a whole batch file image (header, length, CRC); on success gives
  // its sequence, event count and the payload's offset. `why` on failure.
  static bool check_file(const std::string& image, uint64_t& sequence, uint32_t& events,
                         size_t& payload_offset, std::string& why);
  // Size of a batch file holding `payload_size` bytes.
  static uint64_t file_size(uint64_t payload_size);

 private:
  explicit Spool(SpoolConfig config) : config_(std::move(config)) {}
  std::string path_of(uint64_t sequence) const;
  void sync_dir() const;

  SpoolConfig config_;
  std::deque<SpoolFile> files_;
  uint64_t bytes_ = 0;
  uint64_t events_ = 0;
  uint64_t corrupt_ = 0;
};

// CRC-32 (IEEE 802.3, as zlib computes it).
uint32_t crc32(const void* data, size_t len, uint32_t crc = 0);

}  // namespace tapir::agent
