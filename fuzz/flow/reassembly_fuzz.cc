// Segment sequences for the TCP reassembler (and the flow table that
// classifies them). Each record of the input:
//   u8 control: bit0 direction, bit1 SYN, bit2 FIN, bit3 RST, bit4 ACK
//   be16 seq offset, be16 ack offset (from fixed ISNs near the wrap point)
//   u8 length, then that many payload bytes
// Small memory bounds make the limit paths reachable. The consumer checks the
// promises the reassembler makes: nothing after the end of a direction, and
// positions (bytes + gaps) only move forward.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/bytes.h"
#include "flow/flow_table.h"
#include "flow/reassembly.h"

namespace {

using namespace tapir;

class Checker : public flow::StreamConsumer {
 public:
  void on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs) override {
    const int d = flow::dir_index(dir);
    if (ended[d] || len == 0) std::abort();
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; ++i) sink = sink ^ data[i];  // every byte must be readable
    (void)sink;
    position[d] += len;
  }
  void on_stream_gap(flow::Direction dir, uint64_t len) override {
    const int d = flow::dir_index(dir);
    if (ended[d] || len == 0) std::abort();
    position[d] += len;
  }
  void on_stream_end(flow::Direction dir) override {
    const int d = flow::dir_index(dir);
    if (ended[d]) std::abort();  // reported once
    ended[d] = true;
  }
  bool wants_more(flow::Direction dir) const override {
    return position[flow::dir_index(dir)] < (1u << 20);
  }
  uint64_t position[2] = {0, 0};
  bool ended[2] = {false, false};
};

class Ignore : public flow::FlowObserver {
 public:
  void on_flow_end(flow::FlowRecord&) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  flow::ReassemblyConfig rc;
  rc.max_flow_bytes = 4096;
  rc.max_total_bytes = 6144;
  flow::Reassembler reassembler(rc);
  Ignore ignore;
  flow::FlowTable table({}, &ignore);
  Checker checker;
  constexpr uint32_t kIsn[2] = {0xffffff00u, 0x7ffffff0u};

  ByteReader r(data, size);
  flow::FlowRecord* rec = nullptr;
  TimeNs ts = kNsPerSec;
  uint8_t control;
  uint16_t seq_off, ack_off;
  uint8_t len;
  Bytes payload;
  // Bounded by the input: every record consumes at least 6 bytes.
  while (r.u8(control) && r.be16(seq_off) && r.be16(ack_off) && r.u8(len) &&
         r.bytes(len, payload)) {
    const int from_b = control & 1;
    decode::Packet p;
    p.ts = ts++;
    p.l3 = decode::L3::kIpv4;
    const uint8_t a[4] = {10, 0, 0, 1}, b[4] = {10, 0, 0, 2};
    p.src_ip = IpAddr::v4(from_b ? b : a);
    p.dst_ip = IpAddr::v4(from_b ? a : b);
    p.src_port = from_b ? 80 : 40000;
    p.dst_port = from_b ? 40000 : 80;
    p.ip_proto = decode::ipproto::kTcp;
    p.tcp_flags = static_cast<uint8_t>(((control >> 1) & 1 ? decode::tcpflag::kSyn : 0) |
                                       ((control >> 2) & 1 ? decode::tcpflag::kFin : 0) |
                                       ((control >> 3) & 1 ? decode::tcpflag::kRst : 0) |
                                       ((control >> 4) & 1 ? decode::tcpflag::kAck : 0));
    p.tcp_seq = kIsn[from_b] + seq_off;
    p.tcp_ack = kIsn[1 - from_b] + ack_off;
    p.payload = payload.data();
    p.payload_len = p.payload_wire_len = len;
    p.ip_len = 40 + len;
    p.caplen = p.wirelen = 54 + len;
    flow::Direction dir;
    bool created;
    flow::FlowRecord* f = table.update(p, dir, created);
    if (f == nullptr) std::abort();
    if (created) {
      // A new flow on the same tuple (SYN after a close): its record starts
      // with fresh streams, so the checker starts afresh too.
      if (rec != nullptr && rec != f) reassembler.on_flow_end(*rec, checker);
      checker = Checker{};
    }
    rec = f;
    reassembler.on_segment(*f, dir, p, checker);
    if (reassembler.stats().buffered_bytes > rc.max_total_bytes) std::abort();
  }
  if (rec != nullptr) reassembler.on_flow_end(*rec, checker);
  if (reassembler.stats().buffered_bytes != 0) std::abort();
  return 0;
}
