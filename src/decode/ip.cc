// What IPv4 and IPv6 share: the hand-off of fragments to the reassembler and
// the dispatch to the transport (or tunnel) carried in the datagram.
#include "decode/frag.h"
#include "decode/walk.h"

namespace tapir::decode::detail {

bool decode_fragment(Ctx& c, const FragmentIn& f, bool complete_capture) {
  Packet& p = c.pkt;
  add_layer(p, LayerTag::kFrag);
  ++c.stats.fragments;
  // A fragment cut short by the snap length cannot be reassembled; nor is a
  // fragment inside a rebuilt datagram (its buffer is the one being read).
  if (c.cfg.reassemble && c.frags != nullptr && !c.in_reassembled && complete_capture) {
    Bytes datagram;
    switch (c.frags->add(f, c.stats, datagram)) {
      case FragOutcome::kHeld:
        c.held = true;
        p.is_fragment = f.offset != 0;
        p.payload = f.data;
        p.payload_len = f.len;
        p.payload_wire_len = f.len;
        return false;
      case FragOutcome::kComplete:
        ++c.stats.reassembled;
        p.reassembled = true;
        c.in_reassembled = true;
        c.skip_ip_tag = true;
        if (f.version == 4) {
          decode_ipv4(c, ByteReader(datagram));
        } else {
          decode_ipv6(c, ByteReader(datagram));
        }
        return false;
      case FragOutcome::kBad:
        fail(c, DecodeError::kBadFragment);
        break;
      case FragOutcome::kDropped:
        break;  // counted by the reassembler; decode the fragment alone
    }
  }
  if (f.offset != 0 || p.error != DecodeError::kNone) {
    p.is_fragment = f.offset != 0;
    p.payload = f.data;
    p.payload_len = f.len;
    p.payload_wire_len = f.len;
    return false;
  }
  c.first_fragment = true;
  return true;
}

void decode_ip_payload(Ctx& c, uint8_t proto, ByteReader r, uint32_t wire_len) {
  Packet& p = c.pkt;
  p.ip_proto = proto;
  switch (proto) {
    case ipproto::kTcp:
      decode_tcp(c, r, wire_len);
      return;
    case ipproto::kUdp:
      decode_udp(c, r, wire_len);
      return;
    case ipproto::kIcmp:
      decode_icmp(c, r, wire_len);
      return;
    case ipproto::kIcmpv6:
      decode_icmpv6(c, r, wire_len);
      return;
    case ipproto::kGre:
      // The IP payload is what the tunnel's own (outer) flow carries.
      p.payload_wire_len = wire_len;
      decode_gre(c, r, false);
      return;
    case ipproto::kIpIp:
    case ipproto::kIpv6:
      p.payload_wire_len = wire_len;
      if (c.cfg.decode_tunnels && enter_tunnel(c, TunnelKind::kIpInIp, 0)) {
        if (proto == ipproto::kIpIp) {
          p.ether_type = 0x0800;
          decode_ipv4(c, r);
        } else {
          p.ether_type = 0x86dd;
          decode_ipv6(c, r);
        }
        return;
      }
      break;
    default:
      break;
  }
  if (p.error != DecodeError::kNone) return;
  p.payload = r.cur();
  p.payload_len = static_cast<uint32_t>(r.remaining());
  p.payload_wire_len = wire_len;
}

}  // namespace tapir::decode::detail
