// ARP and ICMPv6 cases the corpus lacks, on frames built here byte by byte
// after the RFC layouts (RFC 826, RFC 4861): the expected values are the
// ones written into the frames.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/ip.h"
#include "engine_run.h"
#include "oracle.h"

namespace tapir::analyzers {
namespace {

using tapir::testing::Frame;

void put(std::vector<uint8_t>& v, std::initializer_list<int> b) {
  for (int x : b) v.push_back(static_cast<uint8_t>(x));
}

Frame arp_frame(int64_t ts_us, std::initializer_list<int> eth_src, int op,
                std::initializer_list<int> sha, std::initializer_list<int> spa,
                std::initializer_list<int> tha, std::initializer_list<int> tpa) {
  Frame f;
  f.ts_us = ts_us;
  f.linktype = 1;
  put(f.data, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  put(f.data, eth_src);
  put(f.data, {0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op});
  put(f.data, sha);
  put(f.data, spa);
  put(f.data, tha);
  put(f.data, tpa);
  return f;
}

// IPv6 (hop limit 255) + ICMPv6 of `type` with an 8-byte header and a
// 16-byte target address, as neighbor solicitation/advertisement are laid out.
Frame nd_frame(int64_t ts_us, int type, const std::vector<uint8_t>& target) {
  Frame f;
  f.ts_us = ts_us;
  f.linktype = 1;
  put(f.data, {0x33, 0x33, 0xff, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x86, 0xdd});
  put(f.data, {0x60, 0, 0, 0, 0, 24, 58, 255});
  put(f.data, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2});      // src fe80::2
  put(f.data, {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 1});  // solicited-node
  put(f.data, {type, 0, 0, 0, 0, 0, 0, 0});
  f.data.insert(f.data.end(), target.begin(), target.end());
  return f;
}

std::vector<v1::Event> run_frames(const std::vector<Frame>& frames, const char* analyzer,
                                  v1::Event::BodyCase t) {
  const std::string path = std::string(TAPIR_BINARY_DIR) + "/crafted-" + analyzer + "-" +
                           std::to_string(getpid()) + ".pcap";
  EXPECT_TRUE(tapir::testing::write_pcap(path, frames));
  std::string err;
  auto ev = tapir::testing::run_capture(path, {analyzer}, {t}, err);
  std::remove(path.c_str());
  EXPECT_EQ(err, "");
  return ev;
}

TEST(ArpCrafted, GratuitousAndMacMismatch) {
  std::vector<Frame> frames;
  // Gratuitous announcement: 10.0.0.5 is at 02:00:00:00:00:05.
  frames.push_back(arp_frame(1000000, {2, 0, 0, 0, 0, 5}, 1, {2, 0, 0, 0, 0, 5}, {10, 0, 0, 5},
                             {0, 0, 0, 0, 0, 0}, {10, 0, 0, 5}));
  // A reply claiming 10.0.0.1 is at 02:..:66, sent from 02:..:77.
  frames.push_back(arp_frame(2000000, {2, 0, 0, 0, 0, 0x77}, 2, {2, 0, 0, 0, 0, 0x66},
                             {10, 0, 0, 1}, {2, 0, 0, 0, 0, 5}, {10, 0, 0, 5}));
  const auto ev = run_frames(frames, "arp", v1::Event::kArp);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].arp().gratuitous());
  EXPECT_FALSE(ev[0].arp().mac_mismatch());
  EXPECT_EQ(ev[0].arp().op(), v1::ARP_REQUEST);
  EXPECT_FALSE(ev[1].arp().gratuitous());
  EXPECT_TRUE(ev[1].arp().mac_mismatch());
  EXPECT_EQ(mac_bytes_to_string(ev[1].arp().eth_src()), "02:00:00:00:00:77");
  EXPECT_EQ(mac_bytes_to_string(ev[1].arp().sender_mac()), "02:00:00:00:00:66");
  EXPECT_EQ(ev[1].arp().rtt_us(), 0u);  // no request for 10.0.0.1 from 10.0.0.5 was seen
}

// An ARP message with any type and length fields: hardware type `hrd`,
// protocol `pro`, `sha`/`tha` of hln bytes, `spa`/`tpa` of pln bytes.
Frame raw_arp_frame(int64_t ts_us, int hrd, int pro, const std::vector<uint8_t>& sha,
                    const std::vector<uint8_t>& spa, const std::vector<uint8_t>& tha,
                    const std::vector<uint8_t>& tpa) {
  Frame f;
  f.ts_us = ts_us;
  f.linktype = 1;
  put(f.data, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 9, 0x08, 0x06});
  put(f.data, {hrd >> 8, hrd & 0xff, pro >> 8, pro & 0xff, static_cast<int>(sha.size()),
               static_cast<int>(spa.size()), 0, 1});
  for (const auto* v : {&sha, &spa, &tha, &tpa}) f.data.insert(f.data.end(), v->begin(), v->end());
  return f;
}

TEST(ArpCrafted, UnusualLengthsAndTypesAreReportedWithAnomalies) {
  const std::vector<uint8_t> mac = {2, 0, 0, 0, 0, 9}, mac0(6, 0);
  const std::vector<uint8_t> ip = {10, 0, 0, 9}, ip2 = {10, 0, 0, 1};
  std::vector<Frame> frames;
  // 0: IEEE 802 hardware (RFC 1042), 6-byte MACs: plain ARP, no anomaly.
  frames.push_back(raw_arp_frame(1000000, 6, 0x0800, mac, ip, mac0, ip2));
  // 1: Ethernet with 8-byte hardware addresses: the IPs sit after them.
  frames.push_back(raw_arp_frame(2000000, 1, 0x0800, std::vector<uint8_t>(8, 0xaa), ip,
                                 std::vector<uint8_t>(8, 0), ip2));
  // 2: IPv6 as the protocol (16-byte addresses): MACs, no IPv4.
  frames.push_back(raw_arp_frame(3000000, 1, 0x86dd, mac, std::vector<uint8_t>(16, 0xfe), mac0,
                                 std::vector<uint8_t>(16, 0xfd)));
  // 3: IPv4 with 5-byte protocol addresses and an unknown hardware type.
  frames.push_back(raw_arp_frame(4000000, 0x3030, 0x0800, std::vector<uint8_t>(14, 0x30),
                                 std::vector<uint8_t>(5, 1), std::vector<uint8_t>(14, 0x30),
                                 std::vector<uint8_t>(5, 2)));
  const auto ev = run_frames(frames, "arp", v1::Event::kArp);
  ASSERT_EQ(ev.size(), 4u);
  auto anomalies = [&](size_t i) {
    return std::vector<int>(ev[i].arp().anomalies().begin(), ev[i].arp().anomalies().end());
  };
  EXPECT_TRUE(anomalies(0).empty());
  EXPECT_EQ(mac_bytes_to_string(ev[0].arp().sender_mac()), "02:00:00:00:00:09");
  EXPECT_EQ(ip_bytes_to_string(ev[0].arp().target_ip()), "10.0.0.1");
  EXPECT_FALSE(ev[0].arp().mac_mismatch());

  EXPECT_EQ(anomalies(1), std::vector<int>{v1::ARP_BAD_HW_LEN});
  EXPECT_EQ(ev[1].arp().hw_len(), 8u);
  EXPECT_TRUE(ev[1].arp().sender_mac().empty());
  EXPECT_EQ(ip_bytes_to_string(ev[1].arp().sender_ip()), "10.0.0.9");
  EXPECT_EQ(ip_bytes_to_string(ev[1].arp().target_ip()), "10.0.0.1");
  EXPECT_FALSE(ev[1].arp().mac_mismatch());

  EXPECT_EQ(anomalies(2), std::vector<int>{v1::ARP_UNKNOWN_PROTO_TYPE});
  EXPECT_EQ(ev[2].arp().proto_len(), 16u);
  EXPECT_EQ(mac_bytes_to_string(ev[2].arp().sender_mac()), "02:00:00:00:00:09");
  EXPECT_TRUE(ev[2].arp().sender_ip().empty());
  EXPECT_FALSE(ev[2].arp().gratuitous());

  EXPECT_EQ(anomalies(3), (std::vector<int>{v1::ARP_UNKNOWN_HW_TYPE, v1::ARP_BAD_PROTO_LEN}));
  EXPECT_EQ(ev[3].arp().hw_type(), 0x3030u);
  EXPECT_TRUE(ev[3].arp().sender_ip().empty());
  EXPECT_TRUE(ev[3].arp().target_mac().empty());
  for (const auto& e : ev) EXPECT_EQ(e.arp().op(), v1::ARP_REQUEST);
}

TEST(ArpCrafted, TruncatedMessageIsNotReported) {
  // Lengths announce more than the frame holds: nothing can be read safely.
  Frame f = raw_arp_frame(1000000, 1, 0x0800, std::vector<uint8_t>(255, 1), {10, 0, 0, 1}, {}, {});
  EXPECT_TRUE(run_frames({f}, "arp", v1::Event::kArp).empty());
}

TEST(IcmpCrafted, NeighborDiscoveryTarget) {
  std::vector<uint8_t> target = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  const auto ev = run_frames({nd_frame(1000000, 135, target), nd_frame(1000100, 136, target)},
                             "icmp", v1::Event::kIcmp);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].icmp().type_name(), "neighbor-solicitation");
  EXPECT_EQ(ev[1].icmp().type_name(), "neighbor-advertisement");
  for (const auto& e : ev) {
    EXPECT_EQ(ip_bytes_to_string(e.icmp().nd_target()), "fe80::1");
    EXPECT_EQ(e.icmp().ip_proto(), 58u);
    EXPECT_EQ(ip_bytes_to_string(e.icmp().src().ip()), "fe80::2");
  }
}

}  // namespace
}  // namespace tapir::analyzers
