// TCP conversations built byte by byte (Ethernet / IPv4 / TCP, RFC 791 and
// RFC 9293 layouts) and run through the real engine, for cases the corpus
// lacks. Sequence and acknowledgement numbers are tracked per side, so a test
// writes what each side sends, in capture order, and may reorder or drop
// frames on purpose.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "export/memory_sink.h"
#include "pipeline/engine.h"

namespace tapir::testing {

namespace tcpflag {
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;
}  // namespace tcpflag

struct CraftedFrame {
  TimeNs ts = 0;
  std::vector<uint8_t> bytes;
};

class TcpConversation {
 public:
  // Client 10.0.0.1:cport, server 10.0.0.2:sport.
  TcpConversation(uint16_t cport, uint16_t sport) : port_{cport, sport} {}

  // The next sequence number of a side (0 client, 1 server).
  uint32_t next_seq(int side) const { return seq_[side]; }

  // One segment from `side` carrying `data`; it acknowledges what the other
  // side has sent so far unless `ack` is given. SYN and FIN take one
  // sequence number.
  CraftedFrame segment(int side, uint8_t flags, const std::string& data = {},
                       int64_t ack = -1) {
    return segment(side, flags, std::vector<uint8_t>(data.begin(), data.end()), ack);
  }
  CraftedFrame segment(int side, uint8_t flags, const std::vector<uint8_t>& data,
                       int64_t ack = -1) {
    CraftedFrame f;
    f.ts = (clock_ += kNsPerMs);
    std::vector<uint8_t>& b = f.bytes;
    const uint8_t mac_c[6] = {2, 0, 0, 0, 0, 1}, mac_s[6] = {2, 0, 0, 0, 0, 2};
    b.insert(b.end(), side == 0 ? mac_s : mac_c, (side == 0 ? mac_s : mac_c) + 6);
    b.insert(b.end(), side == 0 ? mac_c : mac_s, (side == 0 ? mac_c : mac_s) + 6);
    put16(b, 0x0800);
    const uint16_t total = static_cast<uint16_t>(20 + 20 + data.size());
    b.insert(b.end(), {0x45, 0});
    put16(b, total);
    put16(b, ++ip_id_);
    b.insert(b.end(), {0x40, 0, 64, 6, 0, 0});
    const uint8_t ip_c[4] = {10, 0, 0, 1}, ip_s[4] = {10, 0, 0, 2};
    b.insert(b.end(), side == 0 ? ip_c : ip_s, (side == 0 ? ip_c : ip_s) + 4);
    b.insert(b.end(), side == 0 ? ip_s : ip_c, (side == 0 ? ip_s : ip_c) + 4);
    put16(b, port_[side]);
    put16(b, port_[1 - side]);
    put32(b, seq_[side]);
    const bool has_ack = (flags & tcpflag::kAck) != 0;
    put32(b, has_ack ? static_cast<uint32_t>(ack >= 0 ? ack : seq_[1 - side]) : 0);
    b.push_back(5 << 4);
    b.push_back(flags);
    put16(b, 65535);
    put16(b, 0);  // checksum: not verified by the decoder (offloading)
    put16(b, 0);
    b.insert(b.end(), data.begin(), data.end());
    seq_[side] += static_cast<uint32_t>(data.size());
    if (flags & (tcpflag::kSyn | tcpflag::kFin)) seq_[side] += 1;
    return f;
  }

 private:
  static void put16(std::vector<uint8_t>& b, uint16_t v) {
    b.push_back(static_cast<uint8_t>(v >> 8));
    b.push_back(static_cast<uint8_t>(v));
  }
  static void put32(std::vector<uint8_t>& b, uint32_t v) {
    put16(b, static_cast<uint16_t>(v >> 16));
    put16(b, static_cast<uint16_t>(v));
  }

  uint16_t port_[2];
  uint32_t seq_[2] = {1000, 50000};
  uint16_t ip_id_ = 0;
  TimeNs clock_ = 1'700'000'000 * kNsPerSec;
};

// The frames, in the order given, through the real engine (decoder, flow
// table, reassembler, the named analyzers); the events it writes.
inline std::vector<v1::Event> run_frames(const std::vector<CraftedFrame>& frames,
                                         const std::vector<std::string>& analyzers) {
  exporter::MemorySink sink;
  pipeline::EngineConfig cfg;
  cfg.analyzers = analyzers;
  pipeline::Engine engine(cfg, sink);
  for (const CraftedFrame& f : frames) {
    decode::RawFrame raw;
    raw.ts = f.ts;
    raw.data = f.bytes.data();
    raw.caplen = raw.wirelen = static_cast<uint32_t>(f.bytes.size());
    raw.link = decode::LinkType::kEthernet;
    engine.process(raw);
  }
  engine.finish();
  return sink.take();
}

}  // namespace tapir::testing
