// IPv4 (RFC 791): header length and total length checks, options skipped,
// Ethernet padding trimmed by the total length, fragments handed to the
// reassembler. Checksums are not verified (offloading makes them unreliable
// on the capturing host).
#include "decode/frag.h"
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kMinHeader = 20;
constexpr uint16_t kMoreFragments = 0x2000;
constexpr uint16_t kOffsetMask = 0x1fff;
}  // namespace

void decode_ipv4(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  if (r.remaining() < 1) {
    fail(c, DecodeError::kTruncatedIpv4);
    return;
  }
  const uint8_t* h = r.cur();
  if ((h[0] >> 4) != 4) {
    fail(c, DecodeError::kBadIpv4Version);
    return;
  }
  if (r.remaining() < kMinHeader) {
    fail(c, DecodeError::kTruncatedIpv4);
    return;
  }
  if (!c.skip_ip_tag) add_layer(p, LayerTag::kIpv4);
  c.skip_ip_tag = false;
  p.l3 = L3::kIpv4;
  p.l3_data = h;
  p.src_ip = IpAddr::v4(h + 12);
  p.dst_ip = IpAddr::v4(h + 16);
  p.ttl = h[8];
  p.ip_proto = h[9];
  p.ip_id = load_be16(h + 4);
  size_t ihl = static_cast<size_t>(h[0] & 0x0f) * 4;
  size_t total = load_be16(h + 2);
  // Total length 0 is what TCP segmentation offload leaves in captures taken
  // on the sending host: the captured bytes are the datagram.
  if (total == 0) total = r.remaining();
  p.ip_len = static_cast<uint32_t>(total);
  if (ihl < kMinHeader || ihl > r.remaining()) {
    fail(c, DecodeError::kBadIpv4HeaderLen);
    return;
  }
  if (total < ihl) {
    fail(c, DecodeError::kBadIpv4TotalLen);
    return;
  }
  size_t avail = std::min(r.remaining(), total);  // drops link-layer padding
  ByteReader body(h + ihl, avail - ihl);
  auto wire_len = static_cast<uint32_t>(total - ihl);

  uint16_t frag = load_be16(h + 6);
  if ((frag & kMoreFragments) || (frag & kOffsetMask)) {
    FragmentIn f;
    f.version = 4;
    f.src = p.src_ip;
    f.dst = p.dst_ip;
    f.id = p.ip_id;
    f.proto = p.ip_proto;
    f.hdr = h;
    f.hdr_len = static_cast<uint32_t>(ihl);
    f.offset = static_cast<uint32_t>(frag & kOffsetMask) * 8;
    f.data = body.cur();
    f.len = static_cast<uint32_t>(body.remaining());
    f.more = (frag & kMoreFragments) != 0;
    f.ts = c.ts;
    if (!decode_fragment(c, f, avail == total)) return;
  }
  decode_ip_payload(c, p.ip_proto, body, wire_len);
}

}  // namespace tapir::decode::detail
