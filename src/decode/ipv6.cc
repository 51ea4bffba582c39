// IPv6 (RFC 8200) and its extension headers: hop-by-hop, routing,
// destination options, fragment, AH (and the other RFC 7045 ones sharing the
// generic layout), walked up to a bounded count.
#include "decode/frag.h"
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kHeaderLen = 40;
constexpr size_t kFragHeaderLen = 8;
// RFC 8200 recommends each extension header appear at most once (twice for
// destination options); more than this is an attack or garbage.
constexpr int kMaxExtHeaders = 16;

constexpr uint8_t kHopByHop = 0;
constexpr uint8_t kRouting = 43;
constexpr uint8_t kFragment = 44;
constexpr uint8_t kAh = 51;
constexpr uint8_t kDestOpts = 60;
constexpr uint8_t kMobility = 135;
constexpr uint8_t kHip = 139;
constexpr uint8_t kShim6 = 140;

bool is_generic_ext(uint8_t nh) {
  return nh == kHopByHop || nh == kRouting || nh == kDestOpts || nh == kMobility || nh == kHip ||
         nh == kShim6;
}
}  // namespace

void decode_ipv6(Ctx& c, ByteReader r) {
  Packet& p = c.pkt;
  if (r.remaining() < 1) {
    fail(c, DecodeError::kTruncatedIpv6);
    return;
  }
  const uint8_t* h = r.cur();
  if ((h[0] >> 4) != 6) {
    fail(c, DecodeError::kBadIpv6Version);
    return;
  }
  if (r.remaining() < kHeaderLen) {
    fail(c, DecodeError::kTruncatedIpv6);
    return;
  }
  if (!c.skip_ip_tag) add_layer(p, LayerTag::kIpv6);
  c.skip_ip_tag = false;
  p.l3 = L3::kIpv6;
  p.l3_data = h;
  p.src_ip = IpAddr::v6(h + 8);
  p.dst_ip = IpAddr::v6(h + 24);
  p.ttl = h[7];
  size_t plen = load_be16(h + 4);
  uint8_t nh = h[6];
  p.ip_proto = nh;
  size_t captured = r.remaining() - kHeaderLen;
  // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675):
  // the captured bytes are the payload.
  if (plen == 0 && nh == kHopByHop) plen = captured;
  p.ip_len = static_cast<uint32_t>(plen + kHeaderLen);
  const uint8_t* body = h + kHeaderLen;
  size_t avail = std::min(captured, plen);
  size_t off = 0;  // extension header bytes consumed

  for (int count = 0;; ++count) {
    size_t hlen;
    if (is_generic_ext(nh)) {
      if (captured - off < 2) {
        fail(c, DecodeError::kTruncatedIpv6Ext);
        return;
      }
      hlen = (static_cast<size_t>(body[off + 1]) + 1) * 8;
    } else if (nh == kAh) {
      if (captured - off < 2) {
        fail(c, DecodeError::kTruncatedIpv6Ext);
        return;
      }
      hlen = (static_cast<size_t>(body[off + 1]) + 2) * 4;
    } else if (nh == kFragment) {
      hlen = kFragHeaderLen;
    } else {
      break;  // transport, ESP, no-next-header, or unknown
    }
    if (count >= kMaxExtHeaders) {
      fail(c, DecodeError::kTooManyIpv6Ext);
      return;
    }
    if (hlen > captured - off) {
      fail(c, DecodeError::kTruncatedIpv6Ext);
      return;
    }
    const uint8_t* eh = body + off;
    if (off + hlen > plen) {
      // The header is there but lies beyond the announced payload length.
      fail(c, nh == kFragment ? DecodeError::kBadFragment : DecodeError::kTruncatedIpv6Ext);
      return;
    }
    off += hlen;
    uint8_t next = eh[0];
    if (nh != kFragment) {
      add_layer(p, LayerTag::kIpv6Ext);
      nh = next;
      p.ip_proto = nh;
      continue;
    }
    uint16_t offlg = load_be16(eh + 2);
    uint32_t frag_off = offlg & 0xfff8;
    bool more = (offlg & 1) != 0;
    nh = next;
    p.ip_proto = nh;
    if (frag_off == 0 && !more) {
      add_layer(p, LayerTag::kFrag);  // atomic fragment (RFC 6946): not really fragmented
      continue;
    }
    FragmentIn f;
    f.version = 6;
    f.src = p.src_ip;
    f.dst = p.dst_ip;
    f.id = load_be32(eh + 4);
    f.proto = nh;
    f.hdr = h;
    f.hdr_len = kHeaderLen;
    f.offset = frag_off;
    f.data = body + off;
    f.len = static_cast<uint32_t>(avail - std::min(avail, off));
    f.more = more;
    f.ts = c.ts;
    if (!decode_fragment(c, f, captured >= plen)) return;
  }
  ByteReader rest(body + std::min(off, avail), avail - std::min(off, avail));
  decode_ip_payload(c, nh, rest, static_cast<uint32_t>(plen - off));
}

}  // namespace tapir::decode::detail
