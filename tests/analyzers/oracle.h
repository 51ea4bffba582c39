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
#include "support/corpus.h"
#include "support/pcap_io.h"

namespace tapir::testing {

inline std::string corpus(const std::string& rel) { return corpus_path(rel); }

// One oracle table: rows of column name -> text (missing columns read as "").
struct Table {
  std::vector<std::map<std::string, std::string>> rows;
  bool ok = false;
};

inline Table load_tsv(const std::string& path) {
  Table t;
  t.rows = read_tsv(path, &t.ok);
  return t;
}


// Offset of the transport header, the IP protocol and the end of the IP
// datagram (Ethernet padding excluded) of an untunnelled Ethernet (+VLAN) /
// IPv4|IPv6 frame, or false.
inline bool l4_offset(const Frame& f, size_t& off, uint8_t& proto, size_t& end) {
  if (f.linktype != DLT_EN10MB) return false;
  ByteReader r(f.data.data(), f.data.size());
  uint16_t et = 0;
  if (!r.skip(12) || !r.be16(et)) return false;
  for (int i = 0; i < 4 && (et == 0x8100 || et == 0x88a8); ++i)
    if (!r.skip(2) || !r.be16(et)) return false;
  const size_t ip = r.pos();
  if (et == 0x0800) {
    uint8_t vihl = 0;
    if (!r.u8(vihl) || (vihl & 0xf) < 5 || f.data.size() < ip + 20) return false;
    proto = f.data[ip + 9];
    off = ip + (vihl & 0xf) * 4u;
    end = ip + load_be16(&f.data[ip + 2]);
  } else if (et == 0x86dd) {
    if (f.data.size() < ip + 40) return false;
    proto = f.data[ip + 6];
    off = ip + 40;
    end = off + load_be16(&f.data[ip + 4]);
  } else {
    return false;
  }
  if (end > f.data.size()) end = f.data.size();
  return off <= end;
}

inline bool l4_offset(const Frame& f, size_t& off, uint8_t& proto) {
  size_t end = 0;
  return l4_offset(f, off, proto, end);
}

// The TCP payload of an untunnelled frame, or false.
inline bool tcp_payload(const Frame& f, Bytes& payload, uint16_t& sport, uint16_t& dport) {
  size_t off = 0, end = 0;
  uint8_t proto = 0;
  if (!l4_offset(f, off, proto, end) || proto != 6 || end < off + 20) return false;
  sport = load_be16(&f.data[off]);
  dport = load_be16(&f.data[off + 2]);
  const size_t hl = (f.data[off + 12] >> 4) * 4u;
  if (hl < 20 || off + hl > end) return false;
  payload = Bytes(f.data.data() + off + hl, end - off - hl);
  return true;
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
