// Hand-built TLS handshake bytes after the RFC 8446 layouts, shared by the
// parser and analyzer tests: the expected values are the ones written here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "analyzers/tls/parser.h"

namespace tapir::testing::tls_build {

using namespace tapir::analyzers::tls;

using Buf = std::vector<uint8_t>;

inline void put16(Buf& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put24(Buf& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void append(Buf& b, const Buf& x) { b.insert(b.end(), x.begin(), x.end()); }
inline Buf vec16(const Buf& x) {
  Buf b;
  put16(b, static_cast<uint16_t>(x.size()));
  append(b, x);
  return b;
}
inline Buf extension(uint16_t type, const Buf& data) {
  Buf b;
  put16(b, type);
  append(b, vec16(data));
  return b;
}

// A ClientHello body in the shape a TLS 1.3 browser sends (GREASE included);
// the second ClientHello after a HelloRetryRequest changes the key share and
// adds the server's cookie.
inline Buf client_hello_body(uint16_t key_share = 0x001d, bool cookie = false) {
  Buf b;
  put16(b, 0x0303);
  b.insert(b.end(), 32, 0x11);  // random
  b.push_back(32);
  b.insert(b.end(), 32, 0x22);  // legacy session id
  Buf ciphers;
  for (uint16_t c : {0x0a0a, 0x1301, 0x1302, 0xc02b}) put16(ciphers, c);
  append(b, vec16(ciphers));
  b.push_back(1);
  b.push_back(0);  // null compression
  Buf exts;
  append(exts, extension(0x1a1a, {}));  // GREASE
  Buf sni_entry = {0};
  const std::string host = "example.org";
  put16(sni_entry, static_cast<uint16_t>(host.size()));
  sni_entry.insert(sni_entry.end(), host.begin(), host.end());
  append(exts, extension(ext::kServerName, vec16(sni_entry)));
  Buf groups;
  for (uint16_t g : {0x2a2a, 0x001d, 0x0017}) put16(groups, g);
  append(exts, extension(ext::kSupportedGroups, vec16(groups)));
  append(exts, extension(ext::kEcPointFormats, {1, 0}));
  Buf sigs;
  for (uint16_t s : {0x0403, 0x0804}) put16(sigs, s);
  append(exts, extension(ext::kSignatureAlgorithms, vec16(sigs)));
  Buf alpn;
  for (const std::string p : {"h2", "http/1.1"}) {
    alpn.push_back(static_cast<uint8_t>(p.size()));
    alpn.insert(alpn.end(), p.begin(), p.end());
  }
  append(exts, extension(ext::kAlpn, vec16(alpn)));
  Buf ks;
  put16(ks, key_share);
  put16(ks, 32);
  ks.insert(ks.end(), 32, 0x33);
  append(exts, extension(ext::kKeyShare, vec16(ks)));
  append(exts, extension(ext::kSupportedVersions, {6, 0x3a, 0x3a, 0x03, 0x04, 0x03, 0x03}));
  if (cookie) append(exts, extension(44, vec16(Buf(16, 0x44))));  // RFC 8446 4.2.2
  append(b, vec16(exts));
  return b;
}

inline Buf handshake(uint8_t type, const Buf& body) {
  Buf b = {type};
  put24(b, static_cast<uint32_t>(body.size()));
  append(b, body);
  return b;
}

// Cuts handshake bytes into records of at most `max` bytes each.
inline Buf records(const Buf& hs, size_t max, uint8_t type = content::kHandshake) {
  Buf out;
  for (size_t i = 0; i < hs.size(); i += max) {
    const size_t n = std::min(max, hs.size() - i);
    out.push_back(type);
    put16(out, 0x0301);
    put16(out, static_cast<uint16_t>(n));
    out.insert(out.end(), hs.begin() + static_cast<std::ptrdiff_t>(i),
               hs.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  return out;
}

// A TLS 1.3 ServerHello body: `hrr` gives it the HelloRetryRequest random;
// `ext_order` lists which of supported_versions (43) and key_share (51) it
// carries, in wire order.
inline Buf server_hello_body(bool hrr, uint16_t group, const std::vector<uint16_t>& ext_order) {
  static const uint8_t kHrr[32] = {
      0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
      0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  Buf b;
  put16(b, 0x0303);
  if (hrr) b.insert(b.end(), kHrr, kHrr + 32);
  else b.insert(b.end(), 32, 0x77);
  b.push_back(0);
  put16(b, 0x1301);
  b.push_back(0);
  Buf exts;
  for (uint16_t e : ext_order) {
    if (e == ext::kSupportedVersions) append(exts, extension(e, {0x03, 0x04}));
    if (e == ext::kKeyShare) {
      Buf ks;
      put16(ks, group);
      if (!hrr) {  // a ServerHello carries the key itself; a HelloRetryRequest only the group
        put16(ks, 32);
        ks.insert(ks.end(), 32, 0x55);
      }
      append(exts, extension(e, ks));
    }
  }
  append(b, vec16(exts));
  return b;
}

}  // namespace tapir::testing::tls_build
