// X.509 certificate summary through OpenSSL, in the forms the oracles use:
// names as RFC 2253 (most specific first, "CN=...,O=...,C=..."), serial as
// upper-case hex, SHA-256 and SHA-1 of the DER bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"

namespace tapir::analyzers::tls {

// Subject alternative names kept from one certificate; real certificates
// carry tens, a few hundreds at most.
constexpr size_t kMaxSans = 256;

struct CertInfo {
  std::string subject;
  std::string issuer;
  std::string serial;              // upper-case hex, no separators
  int64_t not_before = 0;          // seconds since the epoch
  int64_t not_after = 0;
  std::vector<std::string> sans;   // dNSName entries, in order
  std::string key_type;            // "rsa", "ec", "dsa", "ed25519" ...
  uint32_t key_bits = 0;
  std::string sha256;              // raw digest bytes
  std::string sha1;
};

// False (with `err` set) when the bytes are not a DER certificate.
bool parse_certificate(Bytes der, CertInfo& out, std::string& err);

}  // namespace tapir::analyzers::tls
