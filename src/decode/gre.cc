// GRE (RFC 2784 with the RFC 2890 key and sequence extensions), also when
// carried in UDP (RFC 8086). Carries IPv4, IPv6, MPLS, transparent Ethernet
// bridging and ERSPAN type I/II/III mirrored frames.
#include "decode/walk.h"

namespace tapir::decode::detail {
namespace {
constexpr size_t kBaseLen = 4;
constexpr uint16_t kFlagChecksum = 0x8000;
constexpr uint16_t kFlagRouting = 0x4000;
constexpr uint16_t kFlagKey = 0x2000;
constexpr uint16_t kFlagSeq = 0x1000;
constexpr uint16_t kVersionMask = 0x0007;

constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint16_t kProtoIpv6 = 0x86dd;
constexpr uint16_t kProtoTeb = 0x6558;  // transparent Ethernet bridging
constexpr uint16_t kProtoMpls = 0x8847;
constexpr uint16_t kProtoErspan2 = 0x88be;  // type I without GRE sequence, type II with
constexpr uint16_t kProtoErspan3 = 0x22eb;

// ERSPAN (draft-foschiano-erspan-03). Type II: Ver(4)=1 VLAN(12) COS(3) En(2)
// T(1) Session ID(10) Reserved(12) Index(20). Type III: Ver(4)=2 VLAN(12)
// COS(3) BSO(2) T(1) Session ID(10) Timestamp(32) SGT(16) P(1) FT(5) HwID(6)
// D(1) Gra(2) O(1), then an 8-byte platform subheader when O is set.
constexpr size_t kErspan2Len = 8;
constexpr size_t kErspan3Len = 12;
constexpr size_t kErspan3SubLen = 8;
constexpr uint8_t kErspan2Version = 1;
constexpr uint8_t kErspan3Version = 2;
constexpr uint8_t kErspanFrameEthernet = 0;  // type III frame types
constexpr uint8_t kErspanFrameIp = 2;

// What follows the GRE header for an ERSPAN session.
struct Erspan {
  uint32_t session = 0;
  size_t header = 0;
  bool ip = false;  // type III frame type "IP packet": no Ethernet header
};

// False with the error set when the header is cut short or not what the
// GRE protocol type announced.
bool parse_erspan(Ctx& c, uint16_t proto, bool gre_seq, ByteReader r, Erspan& out) {
  if (proto == kProtoErspan2 && !gre_seq) return true;  // type I: the frame follows at once
  const bool type3 = proto == kProtoErspan3;
  const size_t len = type3 ? kErspan3Len : kErspan2Len;
  if (r.remaining() < len) return fail(c, DecodeError::kTruncatedErspan);
  const uint8_t* h = r.cur();
  const uint8_t version = h[0] >> 4;
  if (version != (type3 ? kErspan3Version : kErspan2Version)) return fail(c, DecodeError::kBadErspan);
  out.session = load_be16(h + 2) & 0x03ff;
  out.header = len;
  if (type3) {
    const uint8_t frame_type = (h[10] >> 2) & 0x1f;
    if (frame_type != kErspanFrameEthernet && frame_type != kErspanFrameIp) {
      return fail(c, DecodeError::kBadErspan);
    }
    out.ip = frame_type == kErspanFrameIp;
    if (h[11] & 0x01) {
      out.header += kErspan3SubLen;
      if (r.remaining() < out.header) return fail(c, DecodeError::kTruncatedErspan);
    }
  }
  return true;
}
}  // namespace

void decode_gre(Ctx& c, ByteReader r, bool in_udp) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kGre);
  if (r.remaining() < kBaseLen) {
    fail(c, DecodeError::kTruncatedGre);
    return;
  }
  const uint8_t* h = r.cur();
  uint16_t flags = load_be16(h);
  uint16_t proto = load_be16(h + 2);
  // Version 1 is PPTP's enhanced GRE (PPP inside) and source routing is
  // obsolete (RFC 2784): neither is decoded.
  if ((flags & kVersionMask) != 0 || (flags & kFlagRouting)) {
    fail(c, DecodeError::kUnsupportedGre);
    return;
  }
  size_t hlen = kBaseLen;
  if (flags & kFlagChecksum) hlen += 4;
  size_t key_at = hlen;
  if (flags & kFlagKey) hlen += 4;
  if (flags & kFlagSeq) hlen += 4;
  if (r.remaining() < hlen) {
    fail(c, DecodeError::kTruncatedGre);
    return;
  }
  uint32_t key = (flags & kFlagKey) ? load_be32(h + key_at) : 0;
  r.skip(hlen);

  TunnelKind kind = in_udp ? TunnelKind::kGreInUdp : TunnelKind::kGre;
  uint32_t id = key;
  enum { kEthernet, kEthertype, kIp } inner = kEthertype;
  switch (proto) {
    case kProtoIpv4:
    case kProtoIpv6:
    case kProtoMpls:
      break;
    case kProtoTeb:
      inner = kEthernet;
      break;
    case kProtoErspan2:
    case kProtoErspan3: {
      add_layer(p, LayerTag::kErspan);
      Erspan e;
      if (!parse_erspan(c, proto, flags & kFlagSeq, r, e)) return;
      r.skip(e.header);
      kind = TunnelKind::kErspan;
      id = e.session;  // a mirror session, not a GRE key, tells mirrored copies apart
      inner = e.ip ? kIp : kEthernet;
      break;
    }
    default:
      // Something we do not decode (PPP, IPX ...): the GRE body is the payload.
      p.payload = r.cur();
      p.payload_len = static_cast<uint32_t>(r.remaining());
      p.payload_wire_len = p.payload_len;
      return;
  }
  if (!enter_tunnel(c, kind, id)) {
    if (p.error == DecodeError::kNone) {
      p.payload = r.cur();
      p.payload_len = static_cast<uint32_t>(r.remaining());
      p.payload_wire_len = p.payload_len;
    }
    return;
  }
  switch (inner) {
    case kEthernet: decode_ethernet(c, r); break;
    case kIp: decode_raw(c, r, 0); break;
    case kEthertype: decode_ethertype(c, proto, r); break;
  }
}

}  // namespace tapir::decode::detail
