// Helpers shared by the analyzer tests: the corpus's tshark tables and raw
// pcap frames (read with libpcap directly, so parser tests do not depend on
// the decoder or the engine).
#pragma once

#include <pcap/pcap.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace tapir::testing {

inline std::string corpus(const std::string& rel) { return std::string(TAPIR_TESTDATA) + "/" + rel; }

inline std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    if (p == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, p - start));
    start = p + sep.size();
  }
}

// One oracle table: rows of column name -> text (missing columns read as "").
struct Table {
  std::vector<std::map<std::string, std::string>> rows;
  bool ok = false;
};

inline Table load_tsv(const std::string& path) {
  Table t;
  std::ifstream in(path);
  if (!in) return t;
  std::string line;
  if (!std::getline(in, line)) return t;
  std::vector<std::string> cols = split(line, "\t");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> vals = split(line, "\t");
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < cols.size(); ++i) row[cols[i]] = i < vals.size() ? vals[i] : "";
    t.rows.push_back(std::move(row));
  }
  t.ok = true;
  return t;
}

struct Frame {
  int number = 0;  // 1-based, as tshark counts
  int64_t ts_us = 0;
  int linktype = 0;
  std::vector<uint8_t> data;
};

// All frames of a capture; empty and `err` set on failure.
inline std::vector<Frame> read_pcap(const std::string& path, std::string& err) {
  std::vector<Frame> frames;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(path.c_str(), errbuf);
  if (!p) {
    err = errbuf;
    return frames;
  }
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int n = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    Frame f;
    f.number = ++n;
    f.ts_us = static_cast<int64_t>(h->ts.tv_sec) * 1000000 + h->ts.tv_usec;
    f.linktype = pcap_datalink(p);
    f.data.assign(d, d + h->caplen);
    frames.push_back(std::move(f));
  }
  pcap_close(p);
  return frames;
}

// The UDP payload of an untunnelled Ethernet (+VLAN) / IPv4|IPv6 / UDP frame,
// or false. Deliberately minimal: enough to hand DNS messages to the parser.
inline bool udp_payload(const Frame& f, Bytes& payload, uint16_t& sport, uint16_t& dport) {
  if (f.linktype != DLT_EN10MB) return false;
  ByteReader r(f.data.data(), f.data.size());
  uint16_t et = 0;
  if (!r.skip(12) || !r.be16(et)) return false;
  for (int i = 0; i < 4 && (et == 0x8100 || et == 0x88a8); ++i)
    if (!r.skip(2) || !r.be16(et)) return false;
  uint8_t proto = 0;
  if (et == 0x0800) {
    const size_t ip_start = r.pos();
    uint8_t vihl = 0;
    if (!r.u8(vihl)) return false;
    const size_t ihl = (vihl & 0xf) * 4u;
    uint16_t frag = 0;
    if (!r.skip(5) || !r.be16(frag) || !r.skip(1) || !r.u8(proto)) return false;
    if (frag & 0x3fff) return false;  // fragments: not for this helper
    if (ihl < 20 || !r.seek(ip_start + ihl)) return false;
  } else if (et == 0x86dd) {
    if (!r.skip(6) || !r.u8(proto) || !r.skip(33)) return false;
  } else {
    return false;
  }
  uint16_t len = 0;
  if (proto != 17 || !r.be16(sport) || !r.be16(dport) || !r.be16(len) || !r.skip(2)) return false;
  if (len < 8) return false;
  size_t n = len - 8u;
  if (n > r.remaining()) n = r.remaining();
  return r.bytes(n, payload);
}

}  // namespace tapir::testing
