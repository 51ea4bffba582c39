// Hand-built frames through every layer, and one test per error reason.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "decode/decoder.h"
#include "frames.h"

namespace tapir::decode {
namespace {

using namespace testing;  // NOLINT: frame builders

struct Decoded {
  DecodeStatus status;
  Packet p;
};

Decoded run(Decoder& d, const Buf& b, LinkType link = LinkType::kEthernet, TimeNs ts = 0,
            uint32_t wirelen = 0) {
  RawFrame f;
  f.ts = ts;
  f.data = b.data();
  f.caplen = static_cast<uint32_t>(b.size());
  f.wirelen = wirelen ? wirelen : f.caplen;
  f.link = link;
  Decoded out;
  out.status = d.decode(f, out.p);
  return out;
}

std::string layers(const Packet& p) {
  std::string s;
  for (int i = 0; i < p.layer_count; ++i) {
    if (!s.empty()) s += ' ';
    s += layer_tag_name(static_cast<LayerTag>(p.layers[i]));
  }
  return s;
}

V4 v4(uint8_t proto) {
  V4 v;
  v.proto = proto;
  return v;
}
V6 v6(uint8_t nh) {
  V6 v;
  v.nh = nh;
  return v;
}

TEST(DecodeUnit, EthernetIpv4TcpAllFields) {
  Decoder d;
  Buf f = eth(0x0800, ipv4(v4(6), tcp(1234, 80, tcpflag::kSyn | tcpflag::kAck, bytes(5))));
  f.resize(f.size() + 6, 0);  // Ethernet padding: must not reach the payload
  auto r = run(d, f);
  ASSERT_EQ(r.status, DecodeStatus::kOk);
  const Packet& p = r.p;
  EXPECT_EQ(p.error, DecodeError::kNone);
  EXPECT_TRUE(p.has_eth);
  EXPECT_EQ(mac_to_string(p.eth_src.data()), "02:00:00:00:00:01");
  EXPECT_EQ(mac_to_string(p.eth_dst.data()), "02:00:00:00:00:02");
  EXPECT_EQ(p.ether_type, 0x0800);
  EXPECT_EQ(p.l3, L3::kIpv4);
  EXPECT_EQ(p.src_ip.to_string(), "10.0.0.1");
  EXPECT_EQ(p.dst_ip.to_string(), "10.0.0.2");
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.ip_id, 0x1234);
  EXPECT_EQ(p.ip_len, 20u + 20u + 5u);
  EXPECT_EQ(p.l3_data, f.data() + 14);
  EXPECT_TRUE(p.is_tcp());
  EXPECT_EQ(p.src_port, 1234);
  EXPECT_EQ(p.dst_port, 80);
  EXPECT_EQ(p.tcp_flags, tcpflag::kSyn | tcpflag::kAck);
  EXPECT_EQ(p.tcp_seq, 1000u);
  EXPECT_EQ(p.tcp_ack, 2000u);
  EXPECT_EQ(p.tcp_window, 65535);
  EXPECT_EQ(p.payload, f.data() + 54);
  EXPECT_EQ(p.payload_len, 5u);
  EXPECT_EQ(p.payload_wire_len, 5u);
  EXPECT_EQ(layers(p), "eth ipv4 tcp");
  EXPECT_EQ(d.stats().decoded, 1u);
}

TEST(DecodeUnit, Ipv4OptionsAndTcpOptionsSkipped) {
  Decoder d;
  V4 v = v4(6);
  v.ihl = 6;
  Buf f = eth(0x0800, ipv4(v, tcp(1, 2, 0, bytes(3), 7)));
  auto r = run(d, f);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.payload, f.data() + 14 + 24 + 28);
  EXPECT_EQ(r.p.payload_len, 3u);
}

TEST(DecodeUnit, Ipv6ExtensionHeadersToUdp) {
  Decoder d;
  Buf f = eth(0x86dd, ipv6(v6(0), cat({ext8(43), ext8(60), ext8(17), udp(53, 5353, bytes(4))})));
  auto r = run(d, f);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.src_ip.to_string(), "2001:db8::1");
  EXPECT_EQ(r.p.ip_proto, ipproto::kUdp);
  EXPECT_EQ(r.p.src_port, 53);
  EXPECT_EQ(r.p.dst_port, 5353);
  EXPECT_EQ(r.p.payload_len, 4u);
  EXPECT_EQ(r.p.ip_len, 40u + 24u + 12u);
  EXPECT_EQ(layers(r.p), "eth ipv6 ipv6ext ipv6ext ipv6ext udp");
}

TEST(DecodeUnit, Ipv6AuthenticationHeader) {
  Decoder d;
  Buf ah = {6, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // (4+2)*4
  Buf f = eth(0x86dd, ipv6(v6(51), cat({ah, tcp(5, 6, tcpflag::kFin, {})})));
  auto r = run(d, f);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_TRUE(r.p.is_tcp());
  EXPECT_EQ(r.p.dst_port, 6);
}

TEST(DecodeUnit, VlanQinQAndMoreTags) {
  Decoder d;
  Buf f = eth(0x88a8, cat({vlan_tag(100, 0x8100), vlan_tag(0x2000 | 200, 0x8100),
                           vlan_tag(300, 0x0800), ipv4(v4(17), udp(1, 2, {}))}));
  auto r = run(d, f);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  ASSERT_EQ(r.p.vlan_count, 3);
  EXPECT_EQ(r.p.vlans[0], 100);
  EXPECT_EQ(r.p.vlans[1], 200);  // priority bits are not part of the id
  EXPECT_EQ(r.p.vlans[2], 300);
  EXPECT_EQ(r.p.ether_type, 0x0800);
  EXPECT_TRUE(r.p.is_udp());
  EXPECT_EQ(layers(r.p), "eth vlan vlan vlan ipv4 udp");
}

TEST(DecodeUnit, TooManyVlansAndTruncatedVlan) {
  Decoder d;
  Buf tags;
  for (int i = 0; i < kMaxVlans + 1; ++i) tags = cat({tags, vlan_tag(static_cast<uint16_t>(i), 0x8100)});
  auto r = run(d, eth(0x8100, cat({tags, vlan_tag(9, 0x0800), ipv4(v4(17), udp(1, 2, {}))})));
  EXPECT_EQ(r.p.error, DecodeError::kTooManyVlans);
  EXPECT_EQ(r.p.vlan_count, kMaxVlans);
  r = run(d, eth(0x8100, Buf{0, 5}));
  EXPECT_EQ(r.p.error, DecodeError::kTruncatedVlan);
  EXPECT_EQ(r.status, DecodeStatus::kMalformed);
  EXPECT_EQ(d.stats().errors[static_cast<size_t>(DecodeError::kTooManyVlans)], 1u);
  EXPECT_EQ(d.stats().errors[static_cast<size_t>(DecodeError::kTruncatedVlan)], 1u);
  EXPECT_EQ(d.stats().malformed, 2u);
}

TEST(DecodeUnit, MplsStackToIpv4AndIpv6) {
  Decoder d;
  auto r = run(d, eth(0x8847, cat({be32(0x00010000), be32(0x00020100), ipv4(v4(17), udp(7, 8, {}))})));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.mpls_count, 2);
  EXPECT_TRUE(r.p.is_udp());
  EXPECT_EQ(r.p.dst_port, 8);
  r = run(d, eth(0x8847, cat({be32(0x00010100), ipv6(v6(17), udp(7, 9, {}))})));
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.dst_port, 9);
  EXPECT_EQ(layers(r.p), "eth mpls ipv6 udp");
}

TEST(DecodeUnit, MplsErrors) {
  Decoder d;
  Buf labels;
  for (int i = 0; i < kMaxMplsLabels + 1; ++i) labels = cat({labels, be32(0x00010000)});
  EXPECT_EQ(run(d, eth(0x8847, labels)).p.error, DecodeError::kTooManyMpls);
  EXPECT_EQ(run(d, eth(0x8847, Buf{0, 1, 0})).p.error, DecodeError::kTruncatedMpls);
}

TEST(DecodeUnit, LinuxCookedV1AndV2) {
  Decoder d;
  Buf sll = cat({be16(0), be16(1), be16(6), bytes(8, 0), be16(0x0800)});
  auto r = run(d, cat({sll, ipv4(v4(17), udp(1, 53, {}))}), LinkType::kLinuxSll);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.dst_port, 53);
  EXPECT_EQ(layers(r.p), "sll ipv4 udp");
  Buf sll2 = cat({be16(0x86dd), be16(0), be32(2), be16(1), Buf{0, 6}, bytes(8, 0)});
  r = run(d, cat({sll2, ipv6(v6(17), udp(1, 54, {}))}), LinkType::kLinuxSll2);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.dst_port, 54);
  EXPECT_EQ(layers(r.p), "sll2 ipv6 udp");
  r = run(d, bytes(10), LinkType::kLinuxSll);
  EXPECT_EQ(r.p.error, DecodeError::kTruncatedLink);
  EXPECT_EQ(r.status, DecodeStatus::kMalformed);
  EXPECT_EQ(run(d, bytes(19), LinkType::kLinuxSll2).p.error, DecodeError::kTruncatedLink);
}

TEST(DecodeUnit, NullAndLoopFamilies) {
  Decoder d;
  Buf v4pkt = ipv4(v4(17), udp(1, 2, {}));
  Buf v6pkt = ipv6(v6(17), udp(1, 3, {}));
  // DLT_NULL: host order of the capturing machine, either way round.
  EXPECT_EQ(run(d, cat({Buf{2, 0, 0, 0}, v4pkt}), LinkType::kNull).p.l3, L3::kIpv4);
  EXPECT_EQ(run(d, cat({Buf{0, 0, 0, 2}, v4pkt}), LinkType::kNull).p.l3, L3::kIpv4);
  for (uint8_t af : {24, 28, 30}) {
    auto r = run(d, cat({Buf{af, 0, 0, 0}, v6pkt}), LinkType::kNull);
    EXPECT_EQ(r.p.l3, L3::kIpv6) << int(af);
    EXPECT_EQ(r.p.dst_port, 3);
    EXPECT_EQ(run(d, cat({Buf{0, 0, 0, af}, v6pkt}), LinkType::kNull).p.l3, L3::kIpv6);
  }
  // DLT_LOOP: always network order.
  EXPECT_EQ(run(d, cat({Buf{0, 0, 0, 30}, v6pkt}), LinkType::kLoop).p.l3, L3::kIpv6);
  EXPECT_EQ(run(d, cat({Buf{0, 0, 0, 99}, v6pkt}), LinkType::kLoop).p.l3, L3::kOther);
  EXPECT_EQ(run(d, Buf{2, 0}, LinkType::kNull).p.error, DecodeError::kTruncatedLink);
}

TEST(DecodeUnit, RawIpLinkTypes) {
  Decoder d;
  Buf v4pkt = ipv4(v4(17), udp(1, 2, {}));
  Buf v6pkt = ipv6(v6(17), udp(1, 3, {}));
  EXPECT_EQ(run(d, v4pkt, LinkType::kRaw).p.l3, L3::kIpv4);
  EXPECT_EQ(run(d, v6pkt, LinkType::kRaw).p.l3, L3::kIpv6);
  EXPECT_EQ(run(d, v4pkt, LinkType::kIpv4).p.dst_port, 2);
  EXPECT_EQ(run(d, v6pkt, LinkType::kIpv6).p.dst_port, 3);
  EXPECT_EQ(run(d, v6pkt, LinkType::kIpv4).p.error, DecodeError::kBadIpv4Version);
  EXPECT_EQ(run(d, v4pkt, LinkType::kIpv6).p.error, DecodeError::kBadIpv6Version);
  EXPECT_EQ(run(d, Buf{}, LinkType::kRaw).p.error, DecodeError::kTruncatedLink);
}

TEST(DecodeUnit, UnsupportedLinkType) {
  Decoder d;
  auto r = run(d, bytes(40), static_cast<LinkType>(147));
  EXPECT_EQ(r.status, DecodeStatus::kMalformed);
  EXPECT_EQ(r.p.error, DecodeError::kUnsupportedLinkType);
}

TEST(DecodeUnit, TruncatedEthernet) {
  Decoder d;
  auto r = run(d, bytes(13));
  EXPECT_EQ(r.status, DecodeStatus::kMalformed);
  EXPECT_EQ(r.p.error, DecodeError::kTruncatedLink);
}

TEST(DecodeUnit, Ipv4Errors) {
  Decoder d;
  EXPECT_EQ(run(d, eth(0x0800, bytes(10, 0x45))).p.error, DecodeError::kTruncatedIpv4);
  EXPECT_EQ(run(d, eth(0x0800, ipv6(v6(17), {}))).p.error, DecodeError::kBadIpv4Version);
  V4 v = v4(17);
  v.ihl = 4;
  auto r = run(d, eth(0x0800, ipv4(v, udp(1, 2, {}))));
  EXPECT_EQ(r.p.error, DecodeError::kBadIpv4HeaderLen);
  EXPECT_EQ(r.p.src_ip.to_string(), "10.0.0.1");  // fixed fields before the damage are kept
  v.ihl = 15;  // 60 bytes, more than captured
  Buf f = eth(0x0800, ipv4(v4(17), {}));
  f[14] = 0x4f;
  EXPECT_EQ(run(d, f).p.error, DecodeError::kBadIpv4HeaderLen);
  V4 t = v4(17);
  t.total = 19;
  EXPECT_EQ(run(d, eth(0x0800, ipv4(t, udp(1, 2, {})))).p.error, DecodeError::kBadIpv4TotalLen);
}

TEST(DecodeUnit, Ipv4SnapLengthIsNotAnError) {
  Decoder d;
  Buf full = eth(0x0800, ipv4(v4(17), udp(1, 2, bytes(100))));
  Buf cut(full.begin(), full.begin() + 14 + 20 + 8 + 10);
  auto r = run(d, cut, LinkType::kEthernet, 0, static_cast<uint32_t>(full.size()));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.payload_len, 10u);
  EXPECT_EQ(r.p.payload_wire_len, 100u);
}

TEST(DecodeUnit, Ipv6Errors) {
  Decoder d;
  EXPECT_EQ(run(d, eth(0x86dd, bytes(39, 0x60))).p.error, DecodeError::kTruncatedIpv6);
  EXPECT_EQ(run(d, eth(0x86dd, ipv4(v4(17), bytes(30)))).p.error, DecodeError::kBadIpv6Version);
  V6 v = v6(0);
  v.plen = 16;
  auto r = run(d, eth(0x86dd, ipv6(v, Buf{17})));  // hop-by-hop cut after one byte
  EXPECT_EQ(r.p.error, DecodeError::kTruncatedIpv6Ext);
  EXPECT_EQ(r.p.dst_ip.to_string(), "2001:db8::2");
  Buf chain;
  for (int i = 0; i < 17; ++i) chain = cat({chain, ext8(60)});
  chain = cat({chain, ext8(59)});
  EXPECT_EQ(run(d, eth(0x86dd, ipv6(v6(60), chain))).p.error, DecodeError::kTooManyIpv6Ext);
}

TEST(DecodeUnit, TcpErrors) {
  Decoder d;
  Buf seg = tcp(1111, 2222, 0, {});
  auto r = run(d, eth(0x0800, ipv4(v4(6), Buf(seg.begin(), seg.begin() + 10))));
  EXPECT_EQ(r.p.error, DecodeError::kTruncatedTcp);
  EXPECT_EQ(r.p.src_port, 1111);  // the ports were captured
  EXPECT_EQ(r.p.dst_port, 2222);
  EXPECT_EQ(r.status, DecodeStatus::kOk);  // the IP layer is usable
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(6), tcp(1, 2, 0, {}, 4)))).p.error,
            DecodeError::kBadTcpHeaderLen);
  // Data offset beyond the segment the IP header announces.
  Buf s2 = tcp(1, 2, 0, {}, 5);
  s2[12] = 0xf0;
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(6), s2))).p.error, DecodeError::kBadTcpHeaderLen);
  // Options cut by the snap length.
  Buf full = eth(0x0800, ipv4(v4(6), tcp(1, 2, 0, {}, 10)));
  Buf cut(full.begin(), full.end() - 8);
  auto c = run(d, cut, LinkType::kEthernet, 0, static_cast<uint32_t>(full.size()));
  EXPECT_EQ(c.p.error, DecodeError::kTruncatedTcp);
}

TEST(DecodeUnit, UdpLengths) {
  Decoder d;
  Buf dgram = udp(1, 2, {});
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), Buf(dgram.begin(), dgram.begin() + 6)))).p.error,
            DecodeError::kTruncatedUdp);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), udp(1, 2, {}, 7)))).p.error,
            DecodeError::kBadUdpLength);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), udp(1, 2, bytes(4), 20)))).p.error,
            DecodeError::kBadUdpLength);
  // UDP length shorter than the IP payload: the UDP length wins.
  auto r = run(d, eth(0x0800, ipv4(v4(17), udp(1, 2, bytes(10), 12))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.payload_len, 4u);
}

TEST(DecodeUnit, IcmpEchoErrorAndTruncation) {
  Decoder d;
  auto r = run(d, eth(0x0800, ipv4(v4(1), icmp(8, 0, 0x00070009, bytes(16)))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.icmp.type, 8);
  EXPECT_EQ(r.p.icmp.id, 7);
  EXPECT_EQ(r.p.icmp.seq, 9);
  EXPECT_EQ(r.p.icmp.quoted, nullptr);
  EXPECT_EQ(r.p.payload_len, 16u);
  Buf quoted = ipv4(v4(17), udp(5000, 53, {}));
  Buf f = eth(0x0800, ipv4(v4(1), icmp(3, 3, 0, quoted)));
  r = run(d, f);
  EXPECT_EQ(r.p.icmp.type, 3);
  EXPECT_EQ(r.p.icmp.code, 3);
  EXPECT_EQ(r.p.icmp.quoted, f.data() + 14 + 20 + 8);
  EXPECT_EQ(r.p.icmp.quoted_len, quoted.size());
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(1), Buf{8, 0, 0}))).p.error, DecodeError::kTruncatedIcmp);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(1), Buf{8, 0, 0, 0, 0}))).p.error,
            DecodeError::kTruncatedIcmp);
  r = run(d, eth(0x86dd, ipv6(v6(58), icmp(128, 0, 0x00010002, {}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.icmp.id, 1);
  EXPECT_EQ(r.p.icmp.seq, 2);
  EXPECT_EQ(layers(r.p), "eth ipv6 icmpv6");
  r = run(d, eth(0x86dd, ipv6(v6(58), icmp(1, 4, 0, ipv6(v6(17), udp(1, 2, {}))))));
  EXPECT_EQ(r.p.icmp.quoted_len, 48u);
  EXPECT_EQ(run(d, eth(0x86dd, ipv6(v6(58), Buf{128, 0}))).p.error, DecodeError::kTruncatedIcmp);
}

TEST(DecodeUnit, Arp) {
  Decoder d;
  auto r = run(d, eth(0x0806, arp_eth_ipv4(1)));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.l3, L3::kArp);
  EXPECT_EQ(r.p.arp.opcode, 1);
  EXPECT_EQ(mac_to_string(r.p.arp.sender_mac.data()), "aa:bb:cc:00:00:01");
  EXPECT_EQ(r.p.arp.sender_ip.to_string(), "192.168.0.1");
  EXPECT_EQ(r.p.arp.target_ip.to_string(), "192.168.0.2");
  Buf a = arp_eth_ipv4(2);
  EXPECT_EQ(run(d, eth(0x0806, Buf(a.begin(), a.begin() + 7))).p.error, DecodeError::kTruncatedArp);
  EXPECT_EQ(run(d, eth(0x0806, Buf(a.begin(), a.begin() + 20))).p.error, DecodeError::kTruncatedArp);
  a[1] = 6;  // IEEE 802 hardware
  r = run(d, eth(0x0806, a));
  EXPECT_EQ(r.p.error, DecodeError::kBadArp);
  EXPECT_EQ(r.p.arp.hw_type, 6);
  EXPECT_EQ(r.p.arp.opcode, 2);
}

TEST(DecodeUnit, GreWithKeyCarryingIpv4) {
  Decoder d;
  V4 outer = v4(47);
  outer.src[3] = 100;
  Buf gre = cat({be16(0x2000 | 0x1000), be16(0x0800), be32(4242), be32(1)});
  Buf f = eth(0x0800, ipv4(outer, cat({gre, ipv4(v4(6), tcp(40000, 22, 0, {}))})));
  auto r = run(d, f);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kGre);
  EXPECT_EQ(r.p.tunnel.id, 4242u);
  EXPECT_EQ(r.p.tunnel.depth, 1);
  EXPECT_EQ(r.p.tunnel.outer_src.to_string(), "10.0.0.100");
  EXPECT_EQ(r.p.src_ip.to_string(), "10.0.0.1");
  EXPECT_TRUE(r.p.is_tcp());
  EXPECT_EQ(r.p.dst_port, 22);
  EXPECT_EQ(layers(r.p), "eth ipv4 gre ipv4 tcp");
}

TEST(DecodeUnit, GreChecksumEthernetAndErspan) {
  Decoder d;
  Buf inner = eth(0x0800, ipv4(v4(17), udp(1, 99, {})));
  Buf teb = cat({be16(0x8000), be16(0x6558), be32(0)});
  auto r = run(d, eth(0x0800, ipv4(v4(47), cat({teb, inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.dst_port, 99);
  EXPECT_EQ(layers(r.p), "eth ipv4 gre eth ipv4 udp");
  Buf erspan2 = cat({be16(0x1000), be16(0x88be), be32(7), be32(0x10000000 | 0x0155), be32(0)});
  r = run(d, eth(0x0800, ipv4(v4(47), cat({erspan2, inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.dst_port, 99);
}

// ERSPAN (draft-foschiano-erspan-03) on crafted frames: type I (no GRE
// sequence, no header), type II (version 1, 10-bit session id), type III
// (version 2, with and without the platform subheader, Ethernet or IP frame
// type), and every way the header can be wrong.
TEST(DecodeUnit, ErspanTypesAndSessions) {
  Decoder d;
  Buf inner = eth(0x0800, ipv4(v4(17), udp(1, 99, {})));
  V4 outer = v4(47);
  outer.src[3] = 200;
  auto gre = [](uint16_t flags, uint16_t proto) { return cat({be16(flags), be16(proto)}); };
  // Type I: GRE without sequence number, the mirrored frame follows at once.
  auto r = run(d, eth(0x0800, ipv4(outer, cat({gre(0, 0x88be), inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kErspan);
  EXPECT_EQ(r.p.tunnel.id, 0u);
  EXPECT_EQ(r.p.tunnel.outer_src.to_string(), "10.0.0.200");
  EXPECT_EQ(r.p.dst_port, 99);
  EXPECT_EQ(layers(r.p), "eth ipv4 gre erspan eth ipv4 udp");
  // Type II: version 1, VLAN 5, session 0x3ff, index 0x12345.
  Buf type2 = cat({be32(0x10050000 | 0x03ff), be32(0x00012345)});
  r = run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x88be), be32(1), type2, inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kErspan);
  EXPECT_EQ(r.p.tunnel.id, 0x3ffu);
  EXPECT_TRUE(r.p.is_udp());
  // Type III, Ethernet frame, no subheader: session 42.
  Buf type3 = cat({be32(0x20000000 | 42), be32(0xdeadbeef), be16(0), Buf{0x00, 0x00}});
  r = run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x22eb), be32(1), type3, inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.id, 42u);
  EXPECT_EQ(r.p.dst_port, 99);
  // Type III with the O flag: an 8-byte platform subheader before the frame.
  Buf type3o = cat({be32(0x20000000 | 43), be32(0), be16(0), Buf{0x00, 0x01}, bytes(8, 0xee)});
  r = run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x22eb), be32(1), type3o, inner}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.id, 43u);
  EXPECT_EQ(r.p.dst_port, 99);
  // Type III, frame type 2 (IP packet): no Ethernet header inside.
  Buf type3ip = cat({be32(0x20000000 | 44), be32(0), be16(0), Buf{0x08, 0x00}});
  r = run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x22eb), be32(1), type3ip,
                                          ipv6(v6(6), tcp(7, 8, 0, {}))}))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.dst_port, 8);
  EXPECT_EQ(layers(r.p), "eth ipv4 gre erspan ipv6 tcp");
  // Damage: header cut short, subheader cut short, wrong version, unknown frame type.
  EXPECT_EQ(run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x88be), be32(1), Buf{0x10, 0}}))))
                .p.error,
            DecodeError::kTruncatedErspan);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x22eb), be32(1),
                                                 cat({be32(0x20000000), be32(0), be16(0),
                                                      Buf{0x00, 0x01}, bytes(4)})}))))
                .p.error,
            DecodeError::kTruncatedErspan);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x88be), be32(1),
                                                 cat({be32(0x20000001), be32(0)}), inner}))))
                .p.error,
            DecodeError::kBadErspan);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x22eb), be32(1),
                                                 cat({be32(0x20000001), be32(0), be16(0),
                                                      Buf{0x04, 0x00}}), inner}))))
                .p.error,
            DecodeError::kBadErspan);
  // A damaged mirror still leaves the outer GRE header counted as carried.
  r = run(d, eth(0x0800, ipv4(outer, cat({gre(0x1000, 0x88be), be32(1), Buf{0x10, 0}}))));
  EXPECT_EQ(r.p.outer_count, 0);  // the tunnel was never entered
  EXPECT_EQ(r.p.src_ip.to_string(), "10.0.0.200");
}

TEST(DecodeUnit, GeneveOnEitherPortWithOptions) {
  Decoder d;
  Buf inner = eth(0x0800, ipv4(v4(6), tcp(3, 4, 0, {})));
  // Version 0, 2 words of options, Ethernet, VNI 0x123456.
  Buf gen = cat({Buf{0x02, 0x00}, be16(0x6558), be32(0x12345600), bytes(8, 0x11)});
  auto r = run(d, eth(0x0800, ipv4(v4(17), udp(50000, 6081, cat({gen, inner})))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kGeneve);
  EXPECT_EQ(r.p.tunnel.id, 0x123456u);
  EXPECT_EQ(r.p.dst_port, 4);
  EXPECT_EQ(layers(r.p), "eth ipv4 udp geneve eth ipv4 tcp");
  // The well-known port as source port (a reply): still Geneve.
  r = run(d, eth(0x0800, ipv4(v4(17), udp(6081, 50000, cat({gen, inner})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kGeneve);
  EXPECT_EQ(r.p.dst_port, 4);
  // IPv6 directly (protocol type 0x86dd), no options.
  Buf gen6 = cat({Buf{0x00, 0x00}, be16(0x86dd), be32(0x00000700)});
  r = run(d, eth(0x0800, ipv4(v4(17), udp(50000, 6081, cat({gen6, ipv6(v6(17), udp(5, 6, {}))})))));
  EXPECT_EQ(r.p.tunnel.id, 7u);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.dst_port, 6);
  // Version 1 is not Geneve as defined: plain UDP.
  Buf v1 = cat({Buf{0x40, 0x00}, be16(0x6558), be32(0), inner});
  r = run(d, eth(0x0800, ipv4(v4(17), udp(50000, 6081, v1))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kNone);
  EXPECT_EQ(r.p.dst_port, 6081);
  // Header or options cut short.
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), udp(1, 6081, Buf{0, 0, 0x65})))).p.error,
            DecodeError::kTruncatedGeneve);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), udp(1, 6081, cat({Buf{0x3f, 0}, be16(0x6558),
                                                               be32(0), bytes(16)})))))
                .p.error,
            DecodeError::kTruncatedGeneve);
}

// The headers that carried each tunnel are kept, outermost first, so that the
// tunnel's own transport can be counted as a flow.
TEST(DecodeUnit, OuterLayersOfNestedTunnels) {
  Decoder d;
  Buf vx = cat({Buf{0x08, 0, 0, 0}, be32(0x00000500)});
  Buf inner = eth(0x0800, ipv4(v4(6), tcp(3, 4, 0, bytes(10))));
  V4 mid = v4(17);
  mid.src[3] = 30;
  mid.ttl = 9;
  Buf vxlan_pkt = ipv4(mid, udp(4789, 40000, cat({vx, inner})));  // 4789 as source port
  V4 outer = v4(47);
  outer.src[3] = 10;
  Buf gre = cat({be16(0x2000), be16(0x0800), be32(77)});
  Buf f = eth(0x8100, cat({vlan_tag(12, 0x0800), ipv4(outer, cat({gre, vxlan_pkt}))}));
  auto r = run(d, f);
  ASSERT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kGre);
  EXPECT_EQ(r.p.tunnel.depth, 2);
  EXPECT_EQ(r.p.tunnel.outer_proto, ipproto::kGre);
  ASSERT_EQ(r.p.outer_count, 2);
  const OuterLayer& o0 = r.p.outer[0];
  EXPECT_EQ(o0.kind, TunnelKind::kGre);
  EXPECT_EQ(o0.src_ip.to_string(), "10.0.0.10");
  EXPECT_EQ(o0.ip_proto, ipproto::kGre);
  EXPECT_EQ(o0.ip_len, 20u + gre.size() + vxlan_pkt.size());
  EXPECT_EQ(o0.payload_wire_len, gre.size() + vxlan_pkt.size());
  EXPECT_EQ(o0.vlan_count, 1);
  const OuterLayer& o1 = r.p.outer[1];
  EXPECT_EQ(o1.kind, TunnelKind::kVxlan);
  EXPECT_EQ(o1.src_ip.to_string(), "10.0.0.30");
  EXPECT_EQ(o1.src_port, 4789);
  EXPECT_EQ(o1.dst_port, 40000);
  EXPECT_EQ(o1.ttl, 9);
  EXPECT_EQ(o1.ip_len, vxlan_pkt.size());
  EXPECT_EQ(o1.payload_wire_len, vx.size() + inner.size());
  EXPECT_EQ(o1.vlan_count, 1);
  // As the flow table reads them.
  Packet op;
  outer_packet(r.p, 0, op);
  EXPECT_TRUE(op.is_ip());
  EXPECT_EQ(op.ip_proto, ipproto::kGre);
  EXPECT_EQ(op.tunnel.kind, TunnelKind::kNone);
  EXPECT_EQ(op.wirelen, f.size());
  EXPECT_EQ(op.vlan_count, 1);
  outer_packet(r.p, 1, op);
  EXPECT_TRUE(op.is_udp());
  EXPECT_EQ(op.src_port, 4789);
  EXPECT_EQ(op.tunnel.kind, TunnelKind::kGre);  // carried in the outermost tunnel
  EXPECT_EQ(op.tunnel.depth, 1);
  EXPECT_EQ(op.payload_wire_len, vx.size() + inner.size());
}

TEST(DecodeUnit, GreErrors) {
  Decoder d;
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(47), Buf{0, 0}))).p.error, DecodeError::kTruncatedGre);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(47), cat({be16(0x2000), be16(0x0800)})))).p.error,
            DecodeError::kTruncatedGre);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(47), cat({be16(0x0001), be16(0x880b), bytes(8)})))).p.error,
            DecodeError::kUnsupportedGre);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(47), cat({be16(0x4000), be16(0x0800), bytes(8)})))).p.error,
            DecodeError::kUnsupportedGre);
}

TEST(DecodeUnit, GreInUdp) {
  Decoder d;
  Buf gre = cat({be16(0), be16(0x86dd)});
  auto r = run(d, eth(0x0800, ipv4(v4(17), udp(5555, 4754, cat({gre, ipv6(v6(17), udp(1, 2, {}))})))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kGreInUdp);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.dst_port, 2);
}

TEST(DecodeUnit, Vxlan) {
  Decoder d;
  Buf vx = cat({Buf{0x08, 0, 0, 0}, be32(0x00abcd00)});
  Buf inner = eth(0x8100, cat({vlan_tag(42, 0x0800), ipv4(v4(6), tcp(3, 4, 0, {}))}));
  inner[11] = 0x77;  // inner source MAC differs from the outer one
  V4 outer = v4(17);
  outer.src[3] = 50;
  auto r = run(d, eth(0x0800, ipv4(outer, udp(33333, 4789, cat({vx, inner})))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kVxlan);
  EXPECT_EQ(r.p.tunnel.id, 0xabcdu);
  EXPECT_EQ(r.p.tunnel.outer_src.to_string(), "10.0.0.50");
  EXPECT_EQ(mac_to_string(r.p.eth_src.data()), "02:00:00:00:00:01");  // outermost kept
  ASSERT_EQ(r.p.vlan_count, 1);
  EXPECT_EQ(r.p.vlans[0], 42);
  EXPECT_TRUE(r.p.is_tcp());
  EXPECT_EQ(r.p.dst_port, 4);
  EXPECT_EQ(layers(r.p), "eth ipv4 udp vxlan eth vlan ipv4 tcp");
  // The well-known port as source port, as tshark reads it too.
  r = run(d, eth(0x0800, ipv4(outer, udp(4789, 33333, cat({vx, inner})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kVxlan);
  EXPECT_EQ(r.p.dst_port, 4);
  ASSERT_EQ(r.p.outer_count, 1);
  EXPECT_EQ(r.p.outer[0].src_port, 4789);
  // Without the I flag it stays plain UDP.
  Buf noflag = cat({Buf{0, 0, 0, 0}, be32(0x00abcd00), inner});
  r = run(d, eth(0x0800, ipv4(v4(17), udp(1, 4789, noflag))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kNone);
  EXPECT_EQ(r.p.dst_port, 4789);
  EXPECT_EQ(run(d, eth(0x0800, ipv4(v4(17), udp(1, 4789, Buf{8, 0, 0})))).p.error,
            DecodeError::kTruncatedVxlan);
}

TEST(DecodeUnit, TeredoWithOriginIndicationAndLookalike) {
  Decoder d;
  Buf origin = cat({Buf{0, 0}, be16(0x1234), be32(0x01020304)});
  Buf inner = ipv6(v6(17), udp(1, 53, bytes(4)));
  auto r = run(d, eth(0x0800, ipv4(v4(17), udp(3544, 40000, cat({origin, inner})))));
  EXPECT_EQ(r.p.error, DecodeError::kNone);
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kTeredo);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.dst_port, 53);
  // Same bytes with one extra trailing byte: the IPv6 length no longer fits.
  r = run(d, eth(0x0800, ipv4(v4(17), udp(3544, 40000, cat({origin, inner, Buf{0}})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kNone);
  EXPECT_EQ(r.p.l3, L3::kIpv4);
  EXPECT_EQ(r.p.dst_port, 40000);
  // Random payload starting with 0x6.
  r = run(d, eth(0x0800, ipv4(v4(17), udp(40000, 3544, bytes(60, 0x66)))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kNone);
}

TEST(DecodeUnit, IpInIpAndDepthBound) {
  Decoder d;
  auto r = run(d, eth(0x0800, ipv4(v4(4), ipv4(v4(17), udp(1, 2, {})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kIpInIp);
  EXPECT_TRUE(r.p.is_udp());
  r = run(d, eth(0x0800, ipv4(v4(41), ipv6(v6(6), tcp(1, 2, 0, {})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kIpInIp);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_TRUE(r.p.is_tcp());
  DecoderConfig cfg;
  cfg.max_tunnel_depth = 2;
  Decoder shallow(cfg);
  Buf pkt = ipv4(v4(17), udp(1, 2, {}));
  for (int i = 0; i < 3; ++i) pkt = ipv4(v4(4), pkt);
  r = run(shallow, eth(0x0800, pkt));
  EXPECT_EQ(r.p.error, DecodeError::kTooManyTunnels);
  EXPECT_EQ(r.p.tunnel.depth, 2);
  // Tunnels off: the outer packet is what is described.
  cfg.decode_tunnels = false;
  Decoder off(cfg);
  r = run(off, eth(0x0800, ipv4(v4(4), ipv4(v4(17), udp(1, 2, {})))));
  EXPECT_EQ(r.p.tunnel.kind, TunnelKind::kNone);
  EXPECT_EQ(r.p.ip_proto, ipproto::kIpIp);
}

Buf frag4(uint16_t id, uint32_t offset, bool more, const Buf& data, uint8_t proto = 17) {
  V4 v = v4(proto);
  v.id = id;
  v.frag = static_cast<uint16_t>((more ? 0x2000 : 0) | (offset / 8));
  return eth(0x0800, ipv4(v, data));
}

TEST(DecodeUnit, Ipv4FragmentsReassembledInAnyOrder) {
  Buf whole = udp(1000, 2000, bytes(100, 0x11));
  for (bool reverse : {false, true}) {
    Decoder d;
    Buf a = frag4(7, 0, true, Buf(whole.begin(), whole.begin() + 56));
    Buf b = frag4(7, 56, false, Buf(whole.begin() + 56, whole.end()));
    auto first = run(d, reverse ? b : a);
    EXPECT_EQ(first.status, DecodeStatus::kHeld);
    auto r = run(d, reverse ? a : b);
    ASSERT_EQ(r.status, DecodeStatus::kOk);
    EXPECT_TRUE(r.p.reassembled);
    EXPECT_EQ(r.p.ip_len, 20u + 108u);
    EXPECT_TRUE(r.p.is_udp());
    EXPECT_EQ(r.p.src_port, 1000);
    EXPECT_EQ(r.p.payload_len, 100u);
    EXPECT_EQ(r.p.payload[99], 0x11);
    EXPECT_EQ(layers(r.p), "eth ipv4 frag udp");
    EXPECT_EQ(d.stats().fragments, 2u);
    EXPECT_EQ(d.stats().reassembled, 1u);
    EXPECT_EQ(d.fragments_pending(), 0u);
  }
}

TEST(DecodeUnit, FragmentsWithoutReassembly) {
  DecoderConfig cfg;
  cfg.reassemble = false;
  Decoder d(cfg);
  Buf whole = udp(1000, 2000, bytes(100));
  auto r = run(d, frag4(7, 0, true, Buf(whole.begin(), whole.begin() + 56)));
  EXPECT_EQ(r.status, DecodeStatus::kOk);
  EXPECT_EQ(r.p.error, DecodeError::kNone);  // UDP length beyond a first fragment is fine
  EXPECT_EQ(r.p.src_port, 1000);
  EXPECT_FALSE(r.p.is_fragment);
  r = run(d, frag4(7, 56, false, Buf(whole.begin() + 56, whole.end())));
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_EQ(r.p.src_port, 0);
  EXPECT_EQ(r.p.payload_len, 52u);
}

TEST(DecodeUnit, FragmentOverlapFirstWins) {
  Decoder d;
  Buf whole = udp(1, 2, bytes(40, 0x22));
  run(d, frag4(9, 0, true, Buf(whole.begin(), whole.begin() + 24)));
  Buf evil(whole.begin() + 16, whole.end());
  std::fill(evil.begin(), evil.begin() + 8, 0x99);  // rewrites bytes 16..23
  auto r = run(d, frag4(9, 16, false, evil));
  ASSERT_TRUE(r.p.reassembled);
  EXPECT_EQ(r.p.payload[8], 0x22);  // byte 16 of the datagram: the first copy won
  EXPECT_EQ(d.stats().errors[static_cast<size_t>(DecodeError::kFragmentOverlap)], 1u);
}

TEST(DecodeUnit, BadFragment) {
  Decoder d;
  auto r = run(d, frag4(3, 65528, true, bytes(16)));
  EXPECT_EQ(r.p.error, DecodeError::kBadFragment);
  EXPECT_TRUE(r.p.is_fragment);
  // Two different ends for one datagram.
  run(d, frag4(4, 8, false, bytes(8)));
  EXPECT_EQ(run(d, frag4(4, 8, false, bytes(16))).p.error, DecodeError::kBadFragment);
}

TEST(DecodeUnit, FragmentLimits) {
  DecoderConfig cfg;
  cfg.max_frag_datagrams = 2;
  Decoder d(cfg);
  for (uint16_t id = 1; id <= 3; ++id) {
    EXPECT_EQ(run(d, frag4(id, 0, true, bytes(8)), LinkType::kEthernet, id).status,
              DecodeStatus::kHeld);
  }
  EXPECT_EQ(d.fragments_pending(), 2u);
  EXPECT_EQ(d.stats().frag_expired, 1u);
  EXPECT_EQ(d.stats().errors[static_cast<size_t>(DecodeError::kFragmentLimit)], 1u);
  // The oldest (id 1) was evicted: its last fragment alone does not complete it.
  EXPECT_EQ(run(d, frag4(1, 8, false, bytes(8)), LinkType::kEthernet, 4).status,
            DecodeStatus::kHeld);

  DecoderConfig small;
  small.max_frag_bytes = 8192;
  Decoder m(small);
  EXPECT_EQ(run(m, frag4(1, 0, true, bytes(1000))).status, DecodeStatus::kHeld);
  auto r = run(m, frag4(1, 16000, true, bytes(1000)));
  EXPECT_NE(r.status, DecodeStatus::kHeld);
  EXPECT_TRUE(r.p.is_fragment);
  EXPECT_LE(m.fragment_memory(), small.max_frag_bytes);
  EXPECT_EQ(m.stats().errors[static_cast<size_t>(DecodeError::kFragmentLimit)], 1u);
}

TEST(DecodeUnit, FragmentTimeout) {
  Decoder d;
  run(d, frag4(5, 0, true, bytes(8)), LinkType::kEthernet, 1 * kNsPerSec);
  EXPECT_EQ(d.fragments_pending(), 1u);
  d.expire(1 * kNsPerSec + DecoderConfig{}.frag_timeout + 1);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.stats().frag_expired, 1u);
  // Expiry also happens as ordinary traffic moves the packet clock on.
  run(d, frag4(6, 0, true, bytes(8)), LinkType::kEthernet, 100 * kNsPerSec);
  run(d, eth(0x0800, ipv4(v4(17), udp(1, 2, {}))), LinkType::kEthernet, 200 * kNsPerSec);
  EXPECT_EQ(d.fragments_pending(), 0u);
  EXPECT_EQ(d.stats().frag_expired, 2u);
}

TEST(DecodeUnit, Ipv6FragmentsReassembled) {
  Decoder d;
  Buf whole = udp(53, 4000, bytes(60, 0x33));
  Buf a = eth(0x86dd, ipv6(v6(44), cat({frag6(17, 0, true, 77), Buf(whole.begin(), whole.begin() + 32)})));
  Buf b = eth(0x86dd, ipv6(v6(44), cat({frag6(17, 32, false, 77), Buf(whole.begin() + 32, whole.end())})));
  EXPECT_EQ(run(d, a).status, DecodeStatus::kHeld);
  auto r = run(d, b);
  ASSERT_EQ(r.status, DecodeStatus::kOk);
  EXPECT_TRUE(r.p.reassembled);
  EXPECT_EQ(r.p.l3, L3::kIpv6);
  EXPECT_EQ(r.p.ip_len, 40u + 68u);
  EXPECT_TRUE(r.p.is_udp());
  EXPECT_EQ(r.p.src_port, 53);
  EXPECT_EQ(r.p.payload_len, 60u);
  // An atomic fragment (offset 0, no more) is decoded in place.
  r = run(d, eth(0x86dd, ipv6(v6(44), cat({frag6(17, 0, false, 78), whole}))));
  EXPECT_FALSE(r.p.reassembled);
  EXPECT_TRUE(r.p.is_udp());
}

TEST(DecodeUnit, CapLenExceedsWire) {
  Decoder d;
  auto r = run(d, eth(0x0800, ipv4(v4(17), udp(1, 2, {}))), LinkType::kEthernet, 0, 20);
  EXPECT_EQ(r.p.error, DecodeError::kCapLenExceedsWire);
  EXPECT_TRUE(r.p.is_ip());
}

TEST(DecodeUnit, EveryErrorHasAName) {
  std::set<std::string_view> names;
  for (int e = 0; e < static_cast<int>(DecodeError::kCount); ++e) {
    auto n = decode_error_name(static_cast<DecodeError>(e));
    EXPECT_NE(n, "unknown");
    names.insert(n);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(DecodeError::kCount));
}

TEST(DecodeUnit, Ieee8023LlcSnap) {
  Decoder d;
  Buf snap = {0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00};
  Buf payload = cat({snap, ipv4(v4(17), udp(1, 2, {}))});
  auto r = run(d, eth(static_cast<uint16_t>(payload.size()), payload));
  EXPECT_EQ(r.p.l3, L3::kIpv4);
  EXPECT_EQ(r.p.dst_port, 2);
  r = run(d, eth(3, Buf{0x42, 0x42, 0x03}));  // STP
  EXPECT_EQ(r.p.l3, L3::kOther);
  EXPECT_EQ(r.p.error, DecodeError::kNone);
}

}  // namespace
}  // namespace tapir::decode
