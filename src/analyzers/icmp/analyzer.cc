#include "analyzers/icmp/analyzer.h"

#include <cstring>

#include "analyzers/event_util.h"
#include "common/bytes.h"
#include "flow/community_id.h"

namespace tapir::analyzers::icmp {

namespace {

bool is_echo_request(bool v6, uint8_t t) { return v6 ? t == 128 : t == 8; }
bool is_echo_reply(bool v6, uint8_t t) { return v6 ? t == 129 : t == 0; }
bool is_error(bool v6, uint8_t t) {
  return v6 ? (t >= 1 && t <= 4) : (t == 3 || t == 4 || t == 5 || t == 11 || t == 12);
}
// Neighbor solicitation/advertisement and redirect carry a target address
// right after the 8-byte header (RFC 4861 4.3-4.5).
bool has_nd_target(bool v6, uint8_t t) { return v6 && (t == 135 || t == 136 || t == 137); }

// The quoted (offending) packet of an error: its destination, protocol and,
// for TCP/UDP/SCTP, destination port. Reads only what was quoted.
void fill_quoted(const decode::IcmpInfo& info, v1::Icmp& m) {
  ByteReader r(info.quoted, info.quoted_len);
  uint8_t vihl = 0;
  if (info.quoted == nullptr || !r.u8(vihl)) return;
  IpAddr dst;
  uint8_t proto = 0;
  size_t l4 = 0;
  if ((vihl >> 4) == 4) {
    if (info.quoted_len < 20) return;
    proto = info.quoted[9];
    dst = IpAddr::v4(info.quoted + 16);
    l4 = (vihl & 0xf) * 4u;
  } else if ((vihl >> 4) == 6) {
    if (info.quoted_len < 40) return;
    proto = info.quoted[6];  // extension headers are not walked
    dst = IpAddr::v6(info.quoted + 24);
    l4 = 40;
  } else {
    return;
  }
  m.set_orig_ip_proto(proto);
  auto* o = m.mutable_orig_dst();
  o->set_ip(dst.raw());
  const bool ports = proto == 6 || proto == 17 || proto == 132;
  if (ports && l4 >= 20 && l4 + 4 <= info.quoted_len) o->set_port(load_be16(info.quoted + l4 + 2));
}

}  // namespace

std::string_view type_name(bool v6, uint8_t t) {
  if (v6) {
    switch (t) {
      case 1: return "dest-unreachable";
      case 2: return "packet-too-big";
      case 3: return "time-exceeded";
      case 4: return "parameter-problem";
      case 128: return "echo-request";
      case 129: return "echo-reply";
      case 130: return "mld-query";
      case 131: return "mld-report";
      case 132: return "mld-done";
      case 133: return "router-solicitation";
      case 134: return "router-advertisement";
      case 135: return "neighbor-solicitation";
      case 136: return "neighbor-advertisement";
      case 137: return "redirect";
      case 143: return "mldv2-report";
      default: return {};
    }
  }
  switch (t) {
    case 0: return "echo-reply";
    case 3: return "dest-unreachable";
    case 4: return "source-quench";
    case 5: return "redirect";
    case 8: return "echo-request";
    case 9: return "router-advertisement";
    case 10: return "router-solicitation";
    case 11: return "time-exceeded";
    case 12: return "parameter-problem";
    case 13: return "timestamp-request";
    case 14: return "timestamp-reply";
    case 15: return "info-request";
    case 16: return "info-reply";
    case 17: return "mask-request";
    case 18: return "mask-reply";
    default: return {};
  }
}

size_t IcmpAnalyzer::EchoHash::operator()(const EchoKey& k) const {
  uint8_t bytes[16 + 16 + 5];
  std::memcpy(bytes, k.requester.data(), 16);
  std::memcpy(bytes + 16, k.responder.data(), 16);
  bytes[32] = static_cast<uint8_t>(k.id >> 8);
  bytes[33] = static_cast<uint8_t>(k.id);
  bytes[34] = static_cast<uint8_t>(k.seq >> 8);
  bytes[35] = static_cast<uint8_t>(k.seq);
  bytes[36] = k.version;
  return static_cast<size_t>(seeded_hash_bytes(seed, bytes, sizeof bytes));
}

void IcmpAnalyzer::on_packet(const PacketView& v) {
  const decode::Packet& p = v.pkt;
  const bool v6 = p.ip_proto == decode::ipproto::kIcmpv6;
  if (!v6 && p.ip_proto != decode::ipproto::kIcmp) return;
  // Without the type/code bytes there is no message to describe.
  if (p.error == decode::DecodeError::kTruncatedIcmp) return;
  const decode::IcmpInfo& ic = p.icmp;

  bool paired = false;
  uint64_t rtt_us = 0;
  const bool req = is_echo_request(v6, ic.type);
  const bool rep = is_echo_reply(v6, ic.type);
  if (req || rep) {
    EchoKey k;
    k.requester = req ? p.src_ip.b : p.dst_ip.b;
    k.responder = req ? p.dst_ip.b : p.src_ip.b;
    k.id = ic.id;
    k.seq = ic.seq;
    k.version = static_cast<uint8_t>(p.ip_version());
    if (req) {
      auto it = pending_.find(k);
      if (it != pending_.end()) {
        it->second = p.ts;
      } else if (pending_.size() < kMaxPendingEchoes) {
        pending_.emplace(k, p.ts);
      }
    } else {
      auto it = pending_.find(k);
      if (it != pending_.end()) {
        paired = true;
        if (p.ts >= it->second) rtt_us = static_cast<uint64_t>((p.ts - it->second) / 1000);
        pending_.erase(it);
      }
    }
  }

  if (ctx_.sink == nullptr || !ctx_.sink->wants(v1::Event::kIcmp)) return;
  v1::Event* e = ctx_.sink->begin();
  v1::Icmp& m = *e->mutable_icmp();
  fill_packet_header(m, p, ctx_.sampling_rate);
  // ICMP has no ports; the decoder's port fields are not meaningful here.
  m.mutable_src()->set_port(0);
  m.mutable_dst()->set_port(0);
  if (v.flow != nullptr && !v.flow->community_id.empty()) {
    m.set_community_id(v.flow->community_id);
  } else {
    flow::community_id_v1(p.src_ip, p.dst_ip, p.ip_proto, ic.type, ic.code, 0, community_id_);
    m.set_community_id(community_id_);
  }
  m.set_type(ic.type);
  m.set_code(ic.code);
  const std::string_view name = type_name(v6, ic.type);
  if (name.empty()) {
    m.set_type_name("type-" + std::to_string(ic.type));
  } else {
    m.set_type_name(std::string(name));
  }
  if (req || rep) {
    m.set_echo_id(ic.id);
    m.set_echo_seq(ic.seq);
  }
  m.set_paired(paired);
  m.set_rtt_us(rtt_us);
  m.set_payload_len(p.payload_wire_len);
  if (is_error(v6, ic.type)) fill_quoted(ic, m);
  if (has_nd_target(v6, ic.type) && p.payload != nullptr && p.payload_len >= 16)
    m.set_nd_target(std::string(reinterpret_cast<const char*>(p.payload), 16));
  ctx_.sink->commit(e);
}

void IcmpAnalyzer::on_tick(TimeNs now) {
  if (now < kEchoTimeout) return;
  const TimeNs before = now - kEchoTimeout;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second < before) {
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
}

TAPIR_REGISTER_ANALYZER("icmp", "ICMP and ICMPv6 messages, echo pairing with RTT",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<IcmpAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::icmp
