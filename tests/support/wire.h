// Protobuf wire-format pieces written by hand, so that tests and fuzz targets
// can build exactly the bytes a broken or hostile agent would send (libprotobuf
// would not write some of them).
#pragma once

#include <cstdint>
#include <string>

namespace tapir::testing {

inline std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
  return out;
}

// A length-delimited field (wire type 2).
inline std::string len_field(int number, const std::string& body) {
  return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(body.size()) + body;
}

// A varint field (wire type 0).
inline std::string varint_field(int number, uint64_t v) {
  return varint(static_cast<uint64_t>(number) << 3) + varint(v);
}

}  // namespace tapir::testing
