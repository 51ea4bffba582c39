// MPLS label stack (RFC 3032). The payload type is not announced anywhere, so
// after the bottom-of-stack label the first nibble tells IPv4 from IPv6;
// anything else (pseudowires) is left undecoded.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kLabelLen = 4;
constexpr uint32_t kBottomOfStack = 0x100;
}  // namespace

void decode_mpls(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  // Bounded: at most kMaxMplsLabels labels are walked.
  for (;;) {
    if (r.remaining() < kLabelLen) {
      fail(c, DecodeError::kTruncatedMpls);
      return;
    }
    if (p.mpls_count >= kMaxMplsLabels) {
      fail(c, DecodeError::kTooManyMpls);
      return;
    }
    uint32_t entry = load_be32(r.cur());
    r.skip(kLabelLen);
    ++p.mpls_count;
    add_layer(p, LayerTag::kMpls);
    if (entry & kBottomOfStack) break;
  }
  if (r.remaining() == 0) {
    p.l3 = L3::kOther;
    return;
  }
  switch (r.cur()[0] >> 4) {
    case 4:
      p.ether_type = 0x0800;
      decode_ipv4(c, r);
      return;
    case 6:
      p.ether_type = 0x86dd;
      decode_ipv6(c, r);
      return;
    default:
      p.l3 = L3::kOther;
      add_layer(p, LayerTag::kOther);
      return;
  }
}

}  // namespace tapir::decode::detail
