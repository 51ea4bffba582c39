// Deterministic synthetic events for store/API tests. Their values are chosen
// to spread over the filters under test (addresses, ports, sizes, times,
// enum values, empty strings); the oracle is SQL run by the sqlite3 CLI.
#pragma once

#include <string>
#include <vector>

#include "common/ip.h"
#include "tapir/v1/events.pb.h"

namespace tapir::testing {

constexpr int64_t kBaseSec = 1'700'000'000;  // 2023-11-14T22:13:20Z

inline std::string ip4(int a, int b, int c, int d) {
  std::string raw;
  ip_string_to_bytes(std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c) + "." +
                         std::to_string(d),
                     raw);
  return raw;
}

// Flow number `i`; `tag` goes into community_id so tests can count each
// (batch, index) exactly once.
inline void fill_flow(v1::Flow* f, int i, const std::string& tag) {
  static const char* kApps[] = {"dns", "tls", "http", ""};
  static const uint32_t kPorts[] = {53, 80, 443, 8080, 22};
  f->mutable_ts()->set_seconds(kBaseSec + i * 7);
  f->mutable_ts()->set_nanos((i * 1237) % 1000000000);
  f->set_community_id(tag);
  f->mutable_src()->set_ip(ip4(10, 0, i % 4, i % 7 + 1));
  f->mutable_src()->set_port(static_cast<uint32_t>(40000 + i % 1000));
  f->mutable_dst()->set_ip(i % 5 == 0 ? std::string("\x20\x01\x0d\xb8", 4) + std::string(11, '\0') + "\x01"
                                      : ip4(192, 168, 1, i % 3 + 1));
  f->mutable_dst()->set_port(kPorts[i % 5]);
  f->mutable_src()->set_mac(std::string("\x02\x00\x00\x00\x00", 5) + static_cast<char>(i % 3));
  f->set_ip_proto(i % 5 == 0 ? 17 : 6);
  f->set_ip_version(i % 5 == 0 ? 6 : 4);
  f->set_src_ip_bytes(static_cast<uint64_t>((i * 7919) % 100000));
  f->set_dst_ip_bytes(static_cast<uint64_t>((i * 104729) % 1000000));
  f->set_src_packets(static_cast<uint64_t>(i % 50 + 1));
  f->set_rtt_us(static_cast<uint64_t>(i % 9 == 0 ? 0 : i * 31 % 5000));
  f->set_end_reason(static_cast<v1::FlowEndReason>(i % 7));
  f->set_app_proto(kApps[i % 4]);
  if (i % 6 == 0) f->add_vlan(100 + i % 3);
  if (i % 11 == 0) {
    f->mutable_tunnel()->set_type(v1::TUNNEL_VXLAN);
    f->mutable_tunnel()->set_id(static_cast<uint32_t>(i));
  }
}

inline v1::EventBatch flow_batch(const std::string& agent, uint64_t seq, int first, int count) {
  v1::EventBatch b;
  b.set_agent_id(agent);
  b.set_sequence(seq);
  for (int i = first; i < first + count; ++i)
    fill_flow(b.add_events()->mutable_flow(), i, agent + ":" + std::to_string(seq) + ":" + std::to_string(i));
  return b;
}

// Every leaf field under a message, named as the column model flattens it
// (parent_child), walked from the descriptors independently of the model.
inline void leaf_paths(const google::protobuf::Descriptor* m, const std::string& prefix, int depth,
                std::vector<std::string>& out) {
  for (int i = 0; i < m->field_count(); ++i) {
    const auto* f = m->field(i);
    std::string name = prefix.empty() ? f->name() : prefix + "_" + f->name();
    if (!f->is_repeated() && f->message_type() &&
        f->message_type()->full_name() != "google.protobuf.Timestamp" && depth < 4)
      leaf_paths(f->message_type(), name, depth + 1, out);
    else
      out.push_back(name);
  }
}

inline void fill_dns(v1::Dns* d, int i) {
  d->mutable_ts()->set_seconds(kBaseSec + i);
  d->mutable_src()->set_ip(ip4(10, 0, 0, 1));
  d->mutable_dst()->set_ip(ip4(8, 8, 8, 8));
  d->mutable_dst()->set_port(53);
  d->set_query(i % 2 ? "example.com" : "o'brien.example");
  d->set_qtype(i % 2 ? 1 : 28);
  d->set_qtype_name(i % 2 ? "A" : "AAAA");
  d->set_rcode(i % 3 == 0 ? 3 : 0);
  d->set_rcode_name(i % 3 == 0 ? "NXDOMAIN" : "NOERROR");
  d->add_answer_data("93.184.216.34");
  auto* a = d->add_answers();
  a->set_name("example.com");
  a->set_type(1);
  a->set_ttl(300);
  a->set_data("93.184.216.34");
  d->add_anomalies(v1::DNS_TRAILING_BYTES);
}

}  // namespace tapir::testing
