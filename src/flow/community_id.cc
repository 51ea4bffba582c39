#include "flow/community_id.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <utility>

#include "common/bytes.h"
#include "decode/packet.h"

namespace tapir::flow {
namespace {

// The ICMP message types that have a counterpart, so that a request and its
// reply hash to the same ID. Taken verbatim from the specification's
// reference implementation (itself from Zeek's ICMP4_counterpart and
// ICMP6_counterpart). Note that router advertisement (9) has no counterpart
// in ICMPv4 although router solicitation (10) maps to it: the reference does
// exactly that, so we do too.
bool icmp4_counterpart(uint8_t type, uint8_t& peer) {
  switch (type) {
    case 8: peer = 0; return true;     // echo -> echo reply
    case 0: peer = 8; return true;
    case 13: peer = 14; return true;   // timestamp
    case 14: peer = 13; return true;
    case 15: peer = 16; return true;   // information
    case 16: peer = 15; return true;
    case 10: peer = 9; return true;    // router solicitation -> advertisement
    case 17: peer = 18; return true;   // address mask
    case 18: peer = 17; return true;
    default: return false;
  }
}

bool icmp6_counterpart(uint8_t type, uint8_t& peer) {
  switch (type) {
    case 128: peer = 129; return true;  // echo
    case 129: peer = 128; return true;
    case 133: peer = 134; return true;  // router solicitation / advertisement
    case 134: peer = 133; return true;
    case 135: peer = 136; return true;  // neighbor solicitation / advertisement
    case 136: peer = 135; return true;
    case 130: peer = 131; return true;  // multicast listener query / report
    case 131: peer = 130; return true;
    case 139: peer = 140; return true;  // node information query / response
    case 140: peer = 139; return true;
    case 144: peer = 145; return true;  // home agent address discovery
    case 145: peer = 144; return true;
    default: return false;
  }
}

bool has_ports(uint8_t proto) {
  return proto == decode::ipproto::kTcp || proto == decode::ipproto::kUdp ||
         proto == decode::ipproto::kSctp || proto == decode::ipproto::kIcmp ||
         proto == decode::ipproto::kIcmpv6;
}

// (a, pa) < (b, pb) comparing addresses as network-order bytes.
bool endpoint_less(const IpAddr& a, uint16_t pa, const IpAddr& b, uint16_t pb) {
  const int c = std::memcmp(a.data(), b.data(), a.size());
  return c < 0 || (c == 0 && pa < pb);
}

}  // namespace

std::string community_id_v1(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport,
                            uint16_t dport, uint16_t seed) {
  std::string out;
  community_id_v1(src, dst, proto, sport, dport, seed, out);
  return out;
}

void community_id_v1(const IpAddr& src, const IpAddr& dst, uint8_t proto, uint16_t sport,
                     uint16_t dport, uint16_t seed, std::string& out) {
  out.clear();
  if (src.empty() || src.version != dst.version) return;

  bool one_way = false;
  if (proto == decode::ipproto::kIcmp || proto == decode::ipproto::kIcmpv6) {
    const uint8_t type = static_cast<uint8_t>(sport);
    uint8_t peer = 0;
    const bool two_way = proto == decode::ipproto::kIcmp ? icmp4_counterpart(type, peer)
                                                         : icmp6_counterpart(type, peer);
    if (two_way) {
      dport = peer;
    } else {
      one_way = true;  // (type, code) as given, never reordered
    }
  }

  const IpAddr* a = &src;
  const IpAddr* b = &dst;
  uint16_t pa = sport, pb = dport;
  if (!one_way && !endpoint_less(src, sport, dst, dport)) {
    std::swap(a, b);
    std::swap(pa, pb);
  }

  // seed(2) addr addr proto(1) pad(1) [port(2) port(2)]: at most 40 bytes.
  std::array<uint8_t, 2 + 16 + 16 + 2 + 4> buf{};
  size_t n = 0;
  store_be16(&buf[n], seed);
  n += 2;
  std::memcpy(&buf[n], a->data(), a->size());
  n += a->size();
  std::memcpy(&buf[n], b->data(), b->size());
  n += b->size();
  buf[n++] = proto;
  buf[n++] = 0;
  if (has_ports(proto)) {
    store_be16(&buf[n], pa);
    store_be16(&buf[n + 2], pb);
    n += 4;
  }

  uint8_t digest[SHA_DIGEST_LENGTH];
  SHA1(buf.data(), n, digest);
  // Base64 of 20 bytes is 28 characters plus the NUL EVP_EncodeBlock writes.
  char b64[32];
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64), digest, sizeof(digest));
  out.append("1:");
  out.append(b64, static_cast<size_t>(len));
}

}  // namespace tapir::flow
