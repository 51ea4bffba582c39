// A flow workload with a realistic spread of values for store and ingest
// benchmarks: 65,536 client addresses, 4,096 servers of which 16 are popular,
// a port/application mix, sizes spread over four orders of magnitude, unique
// Community IDs and timestamps rising evenly over one day. (The test suite's
// synthetic flows have a few dozen distinct values per column, which flatters
// index upkeep.)
#pragma once

#include <cstdint>
#include <string>

#include "tapir/v1/events.pb.h"

namespace tapir::bench {

constexpr int64_t kBase = 1'700'000'000;  // 2023-11-14T22:13:20Z
constexpr int64_t kSpan = 86'400;  // one day of events

struct Rng {
  uint64_t s;
  uint64_t next() {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  }
};

inline std::string ip4(uint32_t v) {
  std::string raw(4, '\0');
  for (int i = 0; i < 4; ++i) raw[static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
  return raw;
}

inline void fill_flow(tapir::v1::Flow* f, int64_t i, int64_t n, Rng& r) {
  static const uint32_t kPorts[] = {53, 443, 443, 443, 80, 123, 22, 8080};
  static const char* kApps[] = {"dns", "tls", "tls", "tls", "http", "", "", "http"};
  int64_t ns = i * (kSpan * 1'000'000'000 / n);
  f->mutable_ts()->set_seconds(kBase + ns / 1'000'000'000);
  f->mutable_ts()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
  uint64_t x = r.next();
  f->mutable_src()->set_ip(ip4(0x0a000000u | static_cast<uint32_t>(x & 0xffff)));
  f->mutable_src()->set_port(static_cast<uint32_t>(32768 + (x >> 16) % 28000));
  uint64_t y = r.next();
  // Servers: a few are popular (top-10 has something to find).
  uint32_t server = (y & 7) == 0 ? static_cast<uint32_t>(y >> 8) % 16 : static_cast<uint32_t>(y >> 8) % 4096;
  f->mutable_dst()->set_ip(ip4(0xc6336400u + server));
  size_t k = (y >> 40) % 8;
  f->mutable_dst()->set_port(kPorts[k]);
  f->set_app_proto(kApps[k]);
  f->set_ip_proto(kPorts[k] == 53 || kPorts[k] == 123 ? 17 : 6);
  f->set_ip_version(4);
  f->set_src_packets(1 + (y >> 20) % 40);
  f->set_dst_packets(1 + (y >> 26) % 60);
  f->set_src_ip_bytes(60 + (y >> 12) % 20000);
  f->set_dst_ip_bytes(60 + (y >> 30) % 200000);
  f->set_end_reason(static_cast<tapir::v1::FlowEndReason>(1 + (y >> 50) % 4));
  f->set_community_id("1:" + std::to_string(x % 1000000007) + std::to_string(i));
}

}  // namespace tapir::bench
