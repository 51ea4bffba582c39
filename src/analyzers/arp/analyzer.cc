#include "analyzers/arp/analyzer.h"

#include <string>

#include "analyzers/event_util.h"
#include "common/bytes.h"

namespace tapir::analyzers::arp {

namespace {

constexpr uint16_t kOpRequest = 1;
constexpr uint16_t kOpReply = 2;
constexpr uint16_t kHwEthernet = 1;
constexpr uint16_t kHwIeee802 = 6;
constexpr uint16_t kProtoIpv4 = 0x0800;
constexpr uint8_t kMacLen = 6;
constexpr uint8_t kIpv4Len = 4;

uint64_t pair_key(const IpAddr& asker, const IpAddr& asked) {
  return (static_cast<uint64_t>(load_be32(asker.data())) << 32) | load_be32(asked.data());
}

std::string mac_bytes(const MacAddr& m) {
  return std::string(reinterpret_cast<const char*>(m.data()), m.size());
}

// Every way the message departs from Ethernet/IPv4 ARP. Zeek stops at the
// first (hardware before protocol); all are listed here.
void add_anomalies(v1::Arp& m, const decode::ArpInfo& a) {
  if (a.hw_type != kHwEthernet && a.hw_type != kHwIeee802) {
    m.add_anomalies(v1::ARP_UNKNOWN_HW_TYPE);
  } else if (a.hw_len != kMacLen) {
    m.add_anomalies(v1::ARP_BAD_HW_LEN);
  }
  if (a.proto_type != kProtoIpv4) {
    m.add_anomalies(v1::ARP_UNKNOWN_PROTO_TYPE);
  } else if (a.proto_len != kIpv4Len) {
    m.add_anomalies(v1::ARP_BAD_PROTO_LEN);
  }
}

}  // namespace

void ArpAnalyzer::on_packet(const PacketView& v) {
  const decode::Packet& p = v.pkt;
  // kBadArp: a whole message of another kind or with other address lengths;
  // the decoder kept what has a known form, and it is reported with anomalies.
  if (p.l3 != decode::L3::kArp ||
      (p.error != decode::DecodeError::kNone && p.error != decode::DecodeError::kBadArp))
    return;
  const decode::ArpInfo& a = p.arp;
  const bool ipv4 = a.sender_ip.version == 4 && a.target_ip.version == 4;

  uint64_t rtt_us = 0;
  if (ipv4 && a.opcode == kOpRequest) {
    const uint64_t key = pair_key(a.sender_ip, a.target_ip);
    auto it = pending_.find(key);
    if (it != pending_.end()) {
      it->second = p.ts;  // a retry: the reply answers the latest
    } else if (pending_.size() < kMaxPendingRequests) {
      pending_.emplace(key, p.ts);
    }
  } else if (ipv4 && a.opcode == kOpReply) {
    auto it = pending_.find(pair_key(a.target_ip, a.sender_ip));
    if (it != pending_.end()) {
      if (p.ts >= it->second) rtt_us = static_cast<uint64_t>((p.ts - it->second) / 1000);
      pending_.erase(it);
    }
  }

  if (ctx_.sink == nullptr || !ctx_.sink->wants(v1::Event::kArp)) return;
  v1::Event* e = ctx_.sink->begin();
  v1::Arp& m = *e->mutable_arp();
  set_timestamp(m.mutable_ts(), p.ts);
  for (int i = 0; i < p.vlan_count; ++i) m.add_vlan(p.vlans[i]);
  m.set_sampling_rate(ctx_.sampling_rate);
  m.set_opcode(a.opcode);
  m.set_op(a.opcode == kOpRequest ? v1::ARP_REQUEST
           : a.opcode == kOpReply ? v1::ARP_REPLY
                                  : v1::ARP_OP_UNKNOWN);
  if (a.has_macs) {
    m.set_sender_mac(mac_bytes(a.sender_mac));
    m.set_target_mac(mac_bytes(a.target_mac));
  }
  m.set_sender_ip(a.sender_ip.raw());
  m.set_target_ip(a.target_ip.raw());
  m.set_gratuitous(!a.sender_ip.empty() && a.sender_ip == a.target_ip);
  if (p.has_eth) {
    m.set_eth_src(mac_bytes(p.eth_src));
    m.set_eth_dst(mac_bytes(p.eth_dst));
    m.set_mac_mismatch(a.has_macs && p.eth_src != a.sender_mac);
  }
  m.set_rtt_us(rtt_us);
  m.set_hw_type(a.hw_type);
  m.set_proto_type(a.proto_type);
  m.set_hw_len(a.hw_len);
  m.set_proto_len(a.proto_len);
  add_anomalies(m, a);
  ctx_.sink->commit(e);
}

void ArpAnalyzer::on_tick(TimeNs now) {
  if (now < kRequestTimeout) return;
  const TimeNs before = now - kRequestTimeout;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second < before) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

TAPIR_REGISTER_ANALYZER("arp", "ARP requests, replies and gratuitous announcements",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<ArpAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::arp
