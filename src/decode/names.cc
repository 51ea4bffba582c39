#include "decode/packet.h"

namespace tapir::decode {

std::string_view decode_error_name(DecodeError e) {
  switch (e) {
    case DecodeError::kNone: return "none";
    case DecodeError::kUnsupportedLinkType: return "unsupported_link_type";
    case DecodeError::kTruncatedLink: return "truncated_link";
    case DecodeError::kTruncatedVlan: return "truncated_vlan";
    case DecodeError::kTooManyVlans: return "too_many_vlans";
    case DecodeError::kTruncatedMpls: return "truncated_mpls";
    case DecodeError::kTooManyMpls: return "too_many_mpls";
    case DecodeError::kTruncatedIpv4: return "truncated_ipv4";
    case DecodeError::kBadIpv4Version: return "bad_ipv4_version";
    case DecodeError::kBadIpv4HeaderLen: return "bad_ipv4_header_len";
    case DecodeError::kBadIpv4TotalLen: return "bad_ipv4_total_len";
    case DecodeError::kTruncatedIpv6: return "truncated_ipv6";
    case DecodeError::kBadIpv6Version: return "bad_ipv6_version";
    case DecodeError::kTruncatedIpv6Ext: return "truncated_ipv6_ext";
    case DecodeError::kTooManyIpv6Ext: return "too_many_ipv6_ext";
    case DecodeError::kBadFragment: return "bad_fragment";
    case DecodeError::kFragmentOverlap: return "fragment_overlap";
    case DecodeError::kFragmentLimit: return "fragment_limit";
    case DecodeError::kTruncatedTcp: return "truncated_tcp";
    case DecodeError::kBadTcpHeaderLen: return "bad_tcp_header_len";
    case DecodeError::kTruncatedUdp: return "truncated_udp";
    case DecodeError::kBadUdpLength: return "bad_udp_length";
    case DecodeError::kTruncatedIcmp: return "truncated_icmp";
    case DecodeError::kTruncatedArp: return "truncated_arp";
    case DecodeError::kBadArp: return "bad_arp";
    case DecodeError::kTruncatedGre: return "truncated_gre";
    case DecodeError::kUnsupportedGre: return "unsupported_gre";
    case DecodeError::kTruncatedVxlan: return "truncated_vxlan";
    case DecodeError::kTruncatedGeneve: return "truncated_geneve";
    case DecodeError::kTruncatedErspan: return "truncated_erspan";
    case DecodeError::kBadErspan: return "bad_erspan";
    case DecodeError::kTooManyTunnels: return "too_many_tunnels";
    case DecodeError::kCapLenExceedsWire: return "caplen_exceeds_wire";
    case DecodeError::kCount: break;
  }
  return "unknown";
}

std::string_view layer_tag_name(LayerTag t) {
  switch (t) {
    case LayerTag::kEth: return "eth";
    case LayerTag::kVlan: return "vlan";
    case LayerTag::kMpls: return "mpls";
    case LayerTag::kSll: return "sll";
    case LayerTag::kSll2: return "sll2";
    case LayerTag::kNull: return "null";
    case LayerTag::kIpv4: return "ipv4";
    case LayerTag::kIpv6: return "ipv6";
    case LayerTag::kIpv6Ext: return "ipv6ext";
    case LayerTag::kFrag: return "frag";
    case LayerTag::kTcp: return "tcp";
    case LayerTag::kUdp: return "udp";
    case LayerTag::kIcmp: return "icmp";
    case LayerTag::kIcmpv6: return "icmpv6";
    case LayerTag::kArp: return "arp";
    case LayerTag::kGre: return "gre";
    case LayerTag::kVxlan: return "vxlan";
    case LayerTag::kTeredo: return "teredo";
    case LayerTag::kOther: return "other";
    case LayerTag::kGeneve: return "geneve";
    case LayerTag::kErspan: return "erspan";
  }
  return "other";
}

std::string_view tunnel_kind_name(TunnelKind k) {
  switch (k) {
    case TunnelKind::kNone: return "";
    case TunnelKind::kGre: return "gre";
    case TunnelKind::kVxlan: return "vxlan";
    case TunnelKind::kTeredo: return "teredo";
    case TunnelKind::kIpInIp: return "ipip";
    case TunnelKind::kGreInUdp: return "gre";
    case TunnelKind::kGeneve: return "geneve";
    case TunnelKind::kErspan: return "erspan";
  }
  return "";
}

}  // namespace tapir::decode
