// Alignment- and endian-safe access to captured bytes.
//
// Every multi-byte load goes through memcpy-free byte arithmetic so that the
// decoder is correct on any CPU (big- or little-endian, strict alignment or
// not). Nothing here ever reads past the length it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace tapir {

using Bytes = std::span<const uint8_t>;

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t load_be24(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 16) | (static_cast<uint32_t>(p[1]) << 8) | p[2];
}
inline uint32_t load_be32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}
inline uint64_t load_be64(const uint8_t* p) {
  return (static_cast<uint64_t>(load_be32(p)) << 32) | load_be32(p + 4);
}
inline uint16_t load_le16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
inline uint32_t load_le32(const uint8_t* p) {
  return p[0] | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
inline void store_be16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

// A bounds-checked cursor over bytes it does not own. Every read either
// succeeds completely or fails without moving the cursor, so parsers can be
// written as straight-line code with `if (!r.u16(x)) return error;`.
class ByteReader {
 public:
  ByteReader() = default;
  ByteReader(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  explicit ByteReader(Bytes b) : data_(b.data()), len_(b.size()) {}

  size_t pos() const { return pos_; }
  size_t size() const { return len_; }
  size_t remaining() const { return len_ - pos_; }
  bool empty() const { return pos_ >= len_; }
  const uint8_t* data() const { return data_; }
  const uint8_t* cur() const { return data_ + pos_; }

  bool seek(size_t pos) {
    if (pos > len_) return false;
    pos_ = pos;
    return true;
  }
  bool skip(size_t n) {
    if (n > remaining()) return false;
    pos_ += n;
    return true;
  }
  bool u8(uint8_t& v) {
    if (remaining() < 1) return false;
    v = data_[pos_++];
    return true;
  }
  bool be16(uint16_t& v) {
    if (remaining() < 2) return false;
    v = load_be16(data_ + pos_);
    pos_ += 2;
    return true;
  }
  bool be24(uint32_t& v) {
    if (remaining() < 3) return false;
    v = load_be24(data_ + pos_);
    pos_ += 3;
    return true;
  }
  bool be32(uint32_t& v) {
    if (remaining() < 4) return false;
    v = load_be32(data_ + pos_);
    pos_ += 4;
    return true;
  }
  bool be64(uint64_t& v) {
    if (remaining() < 8) return false;
    v = load_be64(data_ + pos_);
    pos_ += 8;
    return true;
  }
  // A view of the next n bytes; the cursor moves past them.
  bool bytes(size_t n, Bytes& out) {
    if (n > remaining()) return false;
    out = Bytes(data_ + pos_, n);
    pos_ += n;
    return true;
  }
  // A reader over the next n bytes; this cursor moves past them.
  bool sub(size_t n, ByteReader& out) {
    if (n > remaining()) return false;
    out = ByteReader(data_ + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  const uint8_t* data_ = nullptr;
  size_t len_ = 0;
  size_t pos_ = 0;
};

inline std::string_view as_string_view(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace tapir
