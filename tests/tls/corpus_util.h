// Shared by the TLS and HTTP tests: run the real engine over a capture and
// read the corpus's oracle tables.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "support/corpus.h"
#include "support/engine.h"

namespace tapir::testing {

inline std::vector<std::string> split_str(const std::string& s, const std::string& sep) {
  return split(s, sep);
}

// Runs the engine with the given analyzers over a capture; events of all kinds.
inline std::vector<v1::Event> run_engine(const std::string& path,
                                         const std::vector<std::string>& analyzers,
                                         std::string* error = nullptr) {
  std::string err;
  auto events = run_capture(path, analyzers, {}, err);
  if (error) *error = err;
  return events;
}

inline std::string hex(const std::string& raw, const char* sep = "") {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    if (!out.empty()) out += sep;
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

inline std::string ip_text(const std::string& raw) {
  char buf[64];
  if (raw.size() == 4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", static_cast<uint8_t>(raw[0]),
                  static_cast<uint8_t>(raw[1]), static_cast<uint8_t>(raw[2]),
                  static_cast<uint8_t>(raw[3]));
    return buf;
  }
  return hex(raw);
}

}  // namespace tapir::testing
