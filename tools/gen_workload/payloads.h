// Application payloads shaped like real traffic: DNS messages, TLS handshake
// records and HTTP/1.1 messages. Deterministic: every random choice comes from
// the Rng passed in.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rng.h"

namespace tapir::workload {

namespace dnstype {
inline constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kMx = 15, kTxt = 16, kAaaa = 28,
                          kOpt = 41;
}

struct DnsExchange {
  std::vector<uint8_t> query;
  std::vector<uint8_t> response;
  uint16_t qtype = 0;
  bool nxdomain = false;
};

// A query for a name drawn from `rng` and a matching response (answers,
// CNAME chains, MX, TXT, AAAA, or NXDOMAIN with an SOA authority).
DnsExchange make_dns(Rng& rng);

// A TLS handshake as a list of records per flight. Each flight is the bytes
// one side sends at once; `ends` are the offsets where each record ends.
struct TlsFlight {
  std::vector<uint8_t> bytes;
  std::vector<size_t> ends;
};
struct TlsHandshake {
  TlsFlight client_hello;
  TlsFlight server_flight;   // ServerHello (+ Certificate ... for TLS 1.2) + CCS + encrypted
  TlsFlight client_finish;   // CCS + Finished (encrypted)
  std::string sni;
  bool tls13 = true;
};
TlsHandshake make_tls(Rng& rng);
// `n` bytes of application data in records of at most `max_record` bytes.
TlsFlight make_tls_appdata(Rng& rng, size_t n, size_t max_record);

struct HttpExchange {
  std::string request;
  std::string response;
  bool chunked = false;
};
// One request/response on a connection; `last` adds Connection: close.
HttpExchange make_http(Rng& rng, const std::string& host, bool last);

// Names the generator draws from (host names for DNS, SNI and Host headers).
std::string pick_host(Rng& rng);

}  // namespace tapir::workload
