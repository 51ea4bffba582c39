#include "agent/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <vector>

#include "common/bytes.h"

namespace tapir::agent {
namespace {

namespace fs = std::filesystem;

// File layout: magic, format version, sequence, event count, payload length,
// CRC-32 of the payload, payload (a serialized tapir.v1.EventBatch).
constexpr char kMagic[4] = {'T', 'P', 'S', 'B'};
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 4 + 4 + 8 + 4 + 4 + 4;
// A batch file larger than this is damaged: the exporter never builds batches
// near gRPC's default 4 MiB message limit, let alone 256 MiB.
constexpr uint64_t kMaxPayload = 256ull << 20;
constexpr const char* kSuffix = ".batch";
constexpr const char* kSequenceFile = "sequence";
constexpr const char* kInstanceFile = "instance";

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

bool write_all(int fd, const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Writes `data` to `path` atomically (temporary file, optional fsync, rename).
bool write_file_atomic(const std::string& path, const std::string& data, bool sync,
                       std::string& err) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    err = tmp + ": " + std::strerror(errno);
    return false;
  }
  bool ok = write_all(fd, data.data(), data.size()) && (!sync || ::fsync(fd) == 0);
  int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) saved = errno;
    ::unlink(tmp.c_str());
    err = path + ": " + std::strerror(saved);
    return false;
  }
  return true;
}

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

// Checks a whole file image; on success fills the header fields.
bool check_image(const std::string& img, uint64_t& seq, uint32_t& events, std::string& why) {
  const auto* p = reinterpret_cast<const uint8_t*>(img.data());
  if (img.size() < kHeaderSize) {
    why = "shorter than the header";
    return false;
  }
  if (std::memcmp(p, kMagic, 4) != 0) {
    why = "bad magic";
    return false;
  }
  if (load_be32(p + 4) != kFormatVersion) {
    why = "unknown format version";
    return false;
  }
  seq = load_be64(p + 8);
  events = load_be32(p + 16);
  uint32_t len = load_be32(p + 20);
  uint32_t crc = load_be32(p + 24);
  if (len > kMaxPayload || img.size() != kHeaderSize + len) {
    why = "length does not match the file size";
    return false;
  }
  if (crc32(p + kHeaderSize, len) != crc) {
    why = "CRC mismatch";
    return false;
  }
  return true;
}

}  // namespace

uint32_t crc32(const void* data, size_t len, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < len; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

bool Spool::check_file(const std::string& image, uint64_t& sequence, uint32_t& events,
                       size_t& payload_offset, std::string& why) {
  payload_offset = kHeaderSize;
  return check_image(image, sequence, events, why);
}

uint64_t Spool::file_size(uint64_t payload_size) { return kHeaderSize + payload_size; }

std::string Spool::path_of(uint64_t sequence) const {
  char name[40];
  std::snprintf(name, sizeof name, "%020" PRIu64 "%s", sequence, kSuffix);
  return config_.dir + "/" + name;
}

void Spool::sync_dir() const {
  if (!config_.fsync) return;
  int fd = ::open(config_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::unique_ptr<Spool> Spool::open(const SpoolConfig& config, std::string& err) {
  if (config.dir.empty()) {
    err = "spool directory not set";
    return nullptr;
  }
  std::error_code ec;
  fs::create_directories(config.dir, ec);
  if (ec) {
    err = config.dir + ": " + ec.message();
    return nullptr;
  }
  ::chmod(config.dir.c_str(), 0700);
  std::unique_ptr<Spool> s(new Spool(config));
  std::vector<SpoolFile> found;
  for (const auto& entry : fs::directory_iterator(config.dir, ec)) {
    const std::string path = entry.path().string();
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.ends_with(".tmp")) {
      // A write that did not reach its rename: the batch was never counted as spooled.
      ::unlink(path.c_str());
      continue;
    }
    if (!name.ends_with(kSuffix)) continue;
    std::string img, why;
    uint64_t seq = 0;
    uint32_t events = 0;
    if (!read_file(path, img) || !check_image(img, seq, events, why) ||
        s->path_of(seq) != path) {
      std::fprintf(stderr, "tapir-agent: spool file %s is damaged (%s); kept as %s.corrupt\n",
                   path.c_str(), why.empty() ? "unreadable or misnamed" : why.c_str(),
                   path.c_str());
      ::rename(path.c_str(), (path + ".corrupt").c_str());
      ++s->corrupt_;
      continue;
    }
    found.push_back({seq, events, img.size()});
  }
  if (ec) {
    err = config.dir + ": " + ec.message();
    return nullptr;
  }
  std::sort(found.begin(), found.end(),
            [](const SpoolFile& a, const SpoolFile& b) { return a.sequence < b.sequence; });
  for (const auto& f : found) {
    s->files_.push_back(f);
    s->bytes_ += f.bytes;
    s->events_ += f.events;
  }
  // Probe that the directory is writable now rather than when the collector goes away.
  std::string probe = config.dir + "/.probe";
  if (!write_file_atomic(probe, "", false, err)) return nullptr;
  ::unlink(probe.c_str());
  return s;
}

bool Spool::would_overflow(uint64_t size) const {
  return files_.size() + 1 > config_.max_batches || bytes_ + size > config_.max_bytes;
}

bool Spool::write(uint64_t sequence, uint32_t events, const std::string& payload,
                  std::string& err) {
  if (payload.size() > kMaxPayload) {
    err = "batch too large for the spool";
    return false;
  }
  std::string img(kHeaderSize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(img.data());
  std::memcpy(p, kMagic, 4);
  store_be32(p + 4, kFormatVersion);
  store_be32(p + 8, static_cast<uint32_t>(sequence >> 32));
  store_be32(p + 12, static_cast<uint32_t>(sequence));
  store_be32(p + 16, events);
  store_be32(p + 20, static_cast<uint32_t>(payload.size()));
  store_be32(p + 24, crc32(payload.data(), payload.size()));
  img += payload;
  if (!write_file_atomic(path_of(sequence), img, config_.fsync, err)) return false;
  sync_dir();
  SpoolFile f{sequence, events, img.size()};
  // Batches arrive in order; keep the deque sorted even if one does not.
  auto it = std::upper_bound(files_.begin(), files_.end(), sequence,
                             [](uint64_t s, const SpoolFile& x) { return s < x.sequence; });
  files_.insert(it, f);
  bytes_ += f.bytes;
  events_ += f.events;
  return true;
}

bool Spool::read(uint64_t sequence, std::string& payload, std::string& err) const {
  std::string path = path_of(sequence), img, why;
  uint64_t seq = 0;
  uint32_t events = 0;
  if (!read_file(path, img)) {
    err = path + ": cannot read";
    return false;
  }
  if (!check_image(img, seq, events, why) || seq != sequence) {
    err = path + ": " + (why.empty() ? "sequence mismatch" : why);
    return false;
  }
  payload.assign(img, kHeaderSize);
  return true;
}

void Spool::remove(uint64_t sequence) {
  auto it = std::lower_bound(files_.begin(), files_.end(), sequence,
                             [](const SpoolFile& x, uint64_t s) { return x.sequence < s; });
  if (it == files_.end() || it->sequence != sequence) return;
  ::unlink(path_of(sequence).c_str());
  bytes_ -= it->bytes;
  events_ -= it->events;
  files_.erase(it);
}

std::string random_instance_id() {
  std::random_device rd;
  uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Spool::instance_id(std::string& err) {
  const std::string path = config_.dir + "/" + kInstanceFile;
  std::string text;
  if (read_file(path, text)) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    if (text.size() == 16 && text.find_first_not_of("0123456789abcdef") == std::string::npos) return text;
    std::fprintf(stderr, "tapir-agent: %s is damaged; making a new instance id\n", path.c_str());
  }
  std::string id = random_instance_id();
  if (!write_file_atomic(path, id + "\n", config_.fsync, err)) return {};
  sync_dir();
  return id;
}

uint64_t Spool::load_next_sequence() const {
  std::string text;
  uint64_t v = 1;
  if (read_file(config_.dir + "/" + kSequenceFile, text)) v = std::strtoull(text.c_str(), nullptr, 10);
  // Never hand out a number at or below one still in the spool.
  if (!files_.empty()) v = std::max(v, files_.back().sequence + 1);
  return std::max<uint64_t>(v, 1);
}

bool Spool::store_next_sequence(uint64_t next, std::string& err) {
  bool ok = write_file_atomic(config_.dir + "/" + kSequenceFile, std::to_string(next) + "\n",
                              config_.fsync, err);
  if (ok) sync_dir();
  return ok;
}

}  // namespace tapir::agent
