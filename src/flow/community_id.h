// Community ID flow hashing, version 1
// (https://github.com/corelight/community-id-spec).
#pragma once

#include <cstdint>
#include <string>

#include "common/ip.h"

namespace tapir::flow {

// "1:" + base64(SHA1(seed, saddr, daddr, proto, 0, sport, dport)), with the
// endpoint ordering and ICMP type/code mapping of the specification. For
// ICMP/ICMPv6 pass the type as `sport` and code as `dport`; the mapping to
// the one-way/two-way form is done here.
std::string community_id_v1(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport,
                            uint16_t dport, uint16_t seed = 0);

// The same, written into `out` (its capacity is reused, so a recycled flow
// record computes its ID without allocating). `out` is left empty when the
// addresses are unset or of different families.
void community_id_v1(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport,
                     uint16_t dport, uint16_t seed, std::string& out);

}  // namespace tapir::flow
