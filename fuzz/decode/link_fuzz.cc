// One libFuzzer target per link-layer entry point (TAPIR_FUZZ_LINK picks the
// LINKTYPE). Beyond "no crash", checks that every view the decoder hands out
// lies inside the frame (or, for a rebuilt datagram, is bounded as promised).
#include <cstddef>
#include <cstdint>

#include "decode/decoder.h"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
bool inside(const uint8_t* p, size_t n, const uint8_t* base, size_t len) {
  return p == nullptr || (p >= base && p + n <= base + len);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tapir::decode;
  static Decoder decoder;
  RawFrame f;
  f.data = data;
  f.caplen = static_cast<uint32_t>(size);
  f.wirelen = f.caplen;
  f.link = static_cast<LinkType>(TAPIR_FUZZ_LINK);
  Packet p;
  decoder.decode(f, p);
  check(p.layer_count <= p.layers.size());
  check(p.vlan_count <= kMaxVlans);
  if (!p.reassembled) {
    check(inside(p.payload, p.payload_len, data, size));
    check(inside(p.icmp.quoted, p.icmp.quoted_len, data, size));
    check(p.l3_data == nullptr || inside(p.l3_data, 1, data, size));
  }
  check(p.payload_len <= 65535 + 60);
  // Every recorded tunnel carrier is a whole IP header the flow table can key.
  check(p.outer_count <= kMaxOuterLayers);
  for (int i = 0; i < p.outer_count; ++i) {
    Packet o;
    outer_packet(p, i, o);
    check(o.is_ip() && o.error == DecodeError::kNone);
    check(o.vlan_count <= p.vlan_count);
  }
  return 0;
}
