// The test corpus (tests/corpus, or TAPIR_TESTDATA): capture paths and the
// oracle tables written beside the captures (tshark TSVs, Zeek logs).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace tapir::testing {

inline std::string corpus_path(const std::string& rel) {
  return std::string(TAPIR_TESTDATA) + "/" + rel;
}

// Every capture in the corpus (not the peers' expected outputs), sorted.
inline std::vector<std::filesystem::path> corpus_captures() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(TAPIR_TESTDATA)) {
    if (!e.is_regular_file()) continue;
    const auto ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    if (e.path().string().find("/expected/") != std::string::npos) continue;
    out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Splits on a separator; an empty string gives no fields.
inline std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (;;) {
    const size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + sep.size();
  }
}

// One table row: column name -> text (a missing column reads as "").
using Row = std::map<std::string, std::string>;

// A TSV whose first line names the columns, or a Zeek log whose "#fields"
// line does (its other '#' lines are skipped: tshark tables never start a
// line with '#'). `ok` is false when the file
// cannot be read.
inline std::vector<Row> read_tsv(const std::string& path, bool* ok = nullptr) {
  std::vector<Row> rows;
  std::ifstream in(path);
  if (ok) *ok = static_cast<bool>(in);
  std::string line;
  std::vector<std::string> cols;
  bool header_seen = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("#fields\t", 0) == 0) {
      cols = split(line.substr(8), "\t");
      header_seen = true;
      continue;
    }
    if (line[0] == '#') continue;
    if (!header_seen) {
      cols = split(line, "\t");
      header_seen = true;
      continue;
    }
    const auto vals = split(line, "\t");
    Row r;
    for (size_t i = 0; i < cols.size(); ++i) r[cols[i]] = i < vals.size() ? vals[i] : "";
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace tapir::testing
