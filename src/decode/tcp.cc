// TCP header (RFC 9293): ports, sequence numbers, flags, window, data offset.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kMinHeader = 20;
constexpr size_t kPortsLen = 4;
}  // namespace

void decode_tcp(Ctx& c, ByteReader r, uint32_t wire_len) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kTcp);
  const uint8_t* h = r.cur();
  // Ports sit in the first 4 bytes: keep them even from a cut-short header.
  if (r.remaining() >= kPortsLen) {
    p.src_port = load_be16(h);
    p.dst_port = load_be16(h + 2);
  }
  if (r.remaining() < kMinHeader) {
    fail(c, DecodeError::kTruncatedTcp);
    return;
  }
  p.tcp_seq = load_be32(h + 4);
  p.tcp_ack = load_be32(h + 8);
  size_t doff = static_cast<size_t>(h[12] >> 4) * 4;
  p.tcp_flags = h[13];
  p.tcp_window = load_be16(h + 14);
  if (doff < kMinHeader || doff > wire_len) {
    fail(c, DecodeError::kBadTcpHeaderLen);
    return;
  }
  if (doff > r.remaining()) {
    fail(c, DecodeError::kTruncatedTcp);
    return;
  }
  p.payload = h + doff;
  p.payload_len = static_cast<uint32_t>(r.remaining() - doff);
  p.payload_wire_len = static_cast<uint32_t>(wire_len - doff);
}

}  // namespace tapir::decode::detail
