// Shared by the TLS and HTTP tests: run the real engine over a capture and
// read the corpus's oracle tables.
#pragma once

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
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

// The match blocks of one test.yaml's filters ("key: value", folded
// continuation lines joined), one map per filter.
inline std::vector<std::map<std::string, std::string>> suricata_filters(const std::string& path) {
  std::ifstream in(path);
  std::string line, key;
  std::vector<std::map<std::string, std::string>> out;
  static const std::regex kKey(R"(^\s*-?\s*([A-Za-z_.\[\]0-9-]+):\s*(.*)$)");
  while (std::getline(in, line)) {
    if (line.find("- filter:") != std::string::npos) {
      out.emplace_back();
      key.clear();
      continue;
    }
    if (out.empty()) continue;
    std::smatch m;
    if (std::regex_match(line, m, kKey)) {
      key = m[1];
      std::string v = m[2];
      if (v.size() >= 2 && v.front() == '\'' && v.back() == '\'') v = v.substr(1, v.size() - 2);
      out.back()[key] = v;
    } else if (!key.empty()) {
      const size_t b = line.find_first_not_of(' ');
      if (b != std::string::npos) out.back()[key] += " " + line.substr(b);
    }
  }
  return out;
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
