// Hand-built frames for the decoder's unit tests: each helper writes one
// header in front of a payload, with knobs to damage it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "common/bytes.h"

namespace tapir::decode::testing {

using Buf = std::vector<uint8_t>;

inline Buf cat(std::initializer_list<Buf> parts) {
  Buf out;
  for (const Buf& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
inline Buf be16(uint16_t v) { return {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)}; }
inline Buf be32(uint32_t v) {
  return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

inline Buf eth(uint16_t type, const Buf& payload) {
  Buf h = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
  return cat({h, be16(type), payload});
}
inline Buf vlan_tag(uint16_t id, uint16_t inner_type) { return cat({be16(id), be16(inner_type)}); }

struct V4 {
  uint8_t src[4] = {10, 0, 0, 1};
  uint8_t dst[4] = {10, 0, 0, 2};
  uint8_t proto = 17;
  uint16_t id = 0x1234;
  uint16_t frag = 0;  // flags + offset field as on the wire
  uint8_t ttl = 64;
  int ihl = 5;
  int total = -1;  // -1: computed
};
inline Buf ipv4(const V4& v, const Buf& payload) {
  Buf h(static_cast<size_t>(v.ihl < 5 ? 20 : v.ihl * 4), 0);
  h[0] = static_cast<uint8_t>(0x40 | (v.ihl & 0x0f));
  size_t total = v.total >= 0 ? static_cast<size_t>(v.total) : h.size() + payload.size();
  store_be16(&h[2], static_cast<uint16_t>(total));
  store_be16(&h[4], v.id);
  store_be16(&h[6], v.frag);
  h[8] = v.ttl;
  h[9] = v.proto;
  for (int i = 0; i < 4; ++i) {
    h[12 + i] = v.src[i];
    h[16 + i] = v.dst[i];
  }
  return cat({h, payload});
}

struct V6 {
  uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  uint8_t nh = 17;
  uint8_t hlim = 64;
  int plen = -1;
};
inline Buf ipv6(const V6& v, const Buf& payload) {
  Buf h(40, 0);
  h[0] = 0x60;
  store_be16(&h[4], static_cast<uint16_t>(v.plen >= 0 ? v.plen : static_cast<int>(payload.size())));
  h[6] = v.nh;
  h[7] = v.hlim;
  for (int i = 0; i < 16; ++i) {
    h[8 + i] = v.src[i];
    h[24 + i] = v.dst[i];
  }
  return cat({h, payload});
}
// A generic extension header (hop-by-hop, routing, destination options) of 8 bytes.
inline Buf ext8(uint8_t next) { return {next, 0, 1, 4, 0, 0, 0, 0}; }
inline Buf frag6(uint8_t next, uint16_t offset, bool more, uint32_t id) {
  return cat({Buf{next, 0}, be16(static_cast<uint16_t>(offset | (more ? 1 : 0))), be32(id)});
}

inline Buf udp(uint16_t sport, uint16_t dport, const Buf& payload, int len = -1) {
  return cat({be16(sport), be16(dport),
              be16(static_cast<uint16_t>(len >= 0 ? len : static_cast<int>(8 + payload.size()))),
              be16(0), payload});
}
inline Buf tcp(uint16_t sport, uint16_t dport, uint8_t flags, const Buf& payload, int doff = 5) {
  Buf h = cat({be16(sport), be16(dport), be32(1000), be32(2000)});
  h.push_back(static_cast<uint8_t>(doff << 4));
  h.push_back(flags);
  Buf rest = cat({be16(65535), be16(0), be16(0)});
  Buf opts(doff > 5 ? static_cast<size_t>((doff - 5) * 4) : 0, 1);  // NOPs
  return cat({h, rest, opts, payload});
}
inline Buf icmp(uint8_t type, uint8_t code, uint32_t rest, const Buf& payload) {
  return cat({Buf{type, code, 0, 0}, be32(rest), payload});
}
inline Buf arp_eth_ipv4(uint16_t op) {
  Buf h = cat({be16(1), be16(0x0800), Buf{6, 4}, be16(op)});
  Buf a = {0xaa, 0xbb, 0xcc, 0, 0, 1, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 192, 168, 0, 2};
  return cat({h, a});
}
inline Buf bytes(size_t n, uint8_t v = 0x5a) { return Buf(n, v); }

}  // namespace tapir::decode::testing
