// Realistic event messages for the micro benchmarks: addresses, ports,
// counters and names in the ranges a busy edge link produces, varied per
// message so that encoded sizes are averages rather than one lucky case.
#pragma once

#include <cstdint>
#include <vector>

#include "tapir/v1/events.pb.h"

namespace tapir::bench {

// `n` events of each kind, made from `seed`.
std::vector<v1::Flow> make_flows(size_t n, uint64_t seed = 1);
std::vector<v1::Dns> make_dns(size_t n, uint64_t seed = 1);
std::vector<v1::Arp> make_arps(size_t n, uint64_t seed = 1);
std::vector<v1::Icmp> make_icmps(size_t n, uint64_t seed = 1);
std::vector<v1::Packet> make_packets(size_t n, uint64_t seed = 1);
std::vector<v1::Tls> make_tls(size_t n, uint64_t seed = 1);
std::vector<v1::Http> make_http(size_t n, uint64_t seed = 1);
std::vector<v1::Agent> make_agents(size_t n, uint64_t seed = 1);
// Batches of `per_batch` events in the mix an agent exports (mostly flows and DNS).
std::vector<v1::EventBatch> make_batches(size_t n, size_t per_batch, uint64_t seed = 1);

}  // namespace tapir::bench
