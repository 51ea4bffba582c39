// A capture whose every text field from the wire is hostile: invalid UTF-8
// (Latin-1 bytes, overlong forms, surrogates, cut sequences), NUL and other
// control bytes, backslashes that look like escapes, and over-long values.
// Written from the test (Ethernet/IPv4, libpcap's own writer) so that the
// bytes are exactly what the expectations below say.
//
// The expectations are written by hand from the escaping rules of
// docs/analyzers.md ("Text from the wire"), not from Tapir's output.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/pcap_io.h"

namespace tapir::testing::hostile {

using Buf = std::vector<uint8_t>;
using namespace std::string_literals;

inline void put16(Buf& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put24(Buf& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void put32(Buf& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void append(Buf& b, const Buf& x) { b.insert(b.end(), x.begin(), x.end()); }
inline void append(Buf& b, const std::string& x) { b.insert(b.end(), x.begin(), x.end()); }
inline Buf vec16(const Buf& x) {
  Buf b;
  put16(b, static_cast<uint16_t>(x.size()));
  append(b, x);
  return b;
}

// ---- the hostile values and what they must become -------------------------

// Each hostile value carries every kind of damage; `escaped_*` is its text
// under the documented escaping (invalid and control bytes as \xNN, the
// backslash doubled, the C1 control U+009B as its two bytes).
inline std::string damage() { return "\xe4\x00\\x41\xc0\xaf\xed\xa0\x80\xc2\x9b\x1b[1m\xe6\x97"s; }
inline std::string escaped_damage() {
  return "\\xe4\\x00\\\\x41\\xc0\\xaf\\xed\\xa0\\x80\\xc2\\x9b\\x1b[1m\\xe6\\x97";
}

// A hostile value for one field: an ASCII tag naming the field (so a value in
// the wrong field is noticed), the damage, and valid UTF-8 after it.
inline std::string wire(const std::string& tag) { return tag + damage() + "\xc3\xa9nd"; }
inline std::string text(const std::string& tag) { return tag + escaped_damage() + "\xc3\xa9nd"; }

// Certificate names: OpenSSL's RFC 2253 rendering (T61 bytes as Latin-1,
// controls as \XX, a backslash as \\), kept as it is, with the bytes that
// are not text (here the C1 control U+009B) in RFC 4514's own \XX form.
inline std::string subject_t61() { return "subj\xe4\x01\x9b\\x41"s; }
inline std::string subject_text() { return "CN=subj\xc3\xa4\\01\\C2\\9B\\\\x41"; }
inline std::string issuer_t61() { return "iss\x1b[31m"s; }
inline std::string issuer_text() { return "CN=iss\\1B[31m"; }

// DNS names and TXT strings use zone-file presentation (RFC 1035 5.1) instead:
// every byte outside 0x21-0x7e as \DDD, '.' and '\' (and '"' in TXT) with a
// backslash. A label cannot hold the '.' of the tag, so DNS tags are plain.
inline std::string dns_label() { return "d\xe4\x00\\\xc0\xaf"s; }
inline std::string dns_label_text() { return "d\\228\\000\\\\\\192\\175"; }

// Over-long values: longer than any limit of docs/analyzers.md (an eighth of
// it for HTTP lines, which must stay under the parser's 16 KiB line limit).
constexpr size_t kLongLen = 70000;

// ---- frames ----------------------------------------------------------------

struct Frame {
  int64_t ts_us = 0;
  Buf data;
};

struct Endpoints {
  uint8_t client[4];
  uint8_t server[4];
  uint16_t cport;
  uint16_t sport;
};

inline Buf eth_ipv4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, const Buf& l4) {
  Buf b = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x08, 0x00};
  Buf ip(20, 0);
  ip[0] = 0x45;
  const size_t total = 20 + l4.size();
  ip[2] = static_cast<uint8_t>(total >> 8);
  ip[3] = static_cast<uint8_t>(total);
  ip[6] = 0x40;  // DF
  ip[8] = 64;
  ip[9] = proto;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = src[i];
    ip[16 + i] = dst[i];
  }
  // Header checksum (the decoder does not insist, but keep the frames clean).
  uint32_t sum = 0;
  for (size_t i = 0; i < 20; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  ip[10] = static_cast<uint8_t>(~sum >> 8);
  ip[11] = static_cast<uint8_t>(~sum);
  append(b, ip);
  append(b, l4);
  return b;
}

// A TCP connection: handshake, each side's bytes in segments of at most
// 1400 bytes, FIN from both sides.
class TcpSession {
 public:
  TcpSession(Endpoints e, int64_t& clock, std::vector<Frame>& out) : e_(e), clock_(clock), out_(out) {
    seg(true, 0x02, {});   // SYN
    ++cseq_;
    seg(false, 0x12, {});  // SYN-ACK
    ++sseq_;
    seg(true, 0x10, {});   // ACK
  }
  void client(const Buf& data) { send(true, data); }
  void server(const Buf& data) { send(false, data); }
  void close() {
    seg(true, 0x11, {});
    ++cseq_;
    seg(false, 0x11, {});
    ++sseq_;
    seg(true, 0x10, {});
  }

 private:
  void send(bool from_client, const Buf& data) {
    for (size_t i = 0; i < data.size(); i += 1400) {
      const size_t n = std::min<size_t>(1400, data.size() - i);
      seg(from_client, 0x18, Buf(data.begin() + static_cast<std::ptrdiff_t>(i),
                                 data.begin() + static_cast<std::ptrdiff_t>(i + n)));
      (from_client ? cseq_ : sseq_) += static_cast<uint32_t>(n);
    }
  }
  void seg(bool from_client, uint8_t flags, const Buf& payload) {
    Buf t;
    put16(t, from_client ? e_.cport : e_.sport);
    put16(t, from_client ? e_.sport : e_.cport);
    put32(t, from_client ? cseq_ : sseq_);
    put32(t, (flags & 0x10) ? (from_client ? sseq_ : cseq_) : 0);
    t.push_back(0x50);
    t.push_back(flags);
    put16(t, 65535);
    put16(t, 0);
    put16(t, 0);
    append(t, payload);
    clock_ += 1000;
    out_.push_back({clock_, from_client ? eth_ipv4(e_.client, e_.server, 6, t)
                                        : eth_ipv4(e_.server, e_.client, 6, t)});
  }
  Endpoints e_;
  int64_t& clock_;
  std::vector<Frame>& out_;
  uint32_t cseq_ = 1000;
  uint32_t sseq_ = 5000;
};

inline Frame udp_frame(const uint8_t src[4], const uint8_t dst[4], uint16_t sport, uint16_t dport,
                       const Buf& payload, int64_t& clock) {
  Buf u;
  put16(u, sport);
  put16(u, dport);
  put16(u, static_cast<uint16_t>(8 + payload.size()));
  put16(u, 0);
  append(u, payload);
  clock += 1000;
  return {clock, eth_ipv4(src, dst, 17, u)};
}

// ---- HTTP ------------------------------------------------------------------

inline Buf http_request(const std::string& uri, const std::map<std::string, std::string>& headers) {
  std::string s = "GET " + uri + " HTTP/1.1\r\n";
  for (const auto& [k, v] : headers) s += k + ": " + v + "\r\n";
  s += "Content-Length: 0\r\n\r\n";
  return Buf(s.begin(), s.end());
}

inline Buf http_response(const std::string& reason, const std::string& ctype) {
  const std::string s = "HTTP/1.1 200 " + reason + "\r\nContent-Type: " + ctype +
                        "\r\nContent-Length: 0\r\n\r\n";
  return Buf(s.begin(), s.end());
}

// ---- TLS -------------------------------------------------------------------

inline Buf extension(uint16_t type, const Buf& data) {
  Buf b;
  put16(b, type);
  append(b, vec16(data));
  return b;
}
inline Buf handshake(uint8_t type, const Buf& body) {
  Buf b = {type};
  put24(b, static_cast<uint32_t>(body.size()));
  append(b, body);
  return b;
}
inline Buf records(const Buf& hs) {
  Buf out;
  for (size_t i = 0; i < hs.size(); i += 16000) {
    const size_t n = std::min<size_t>(16000, hs.size() - i);
    out.push_back(22);
    put16(out, 0x0303);
    put16(out, static_cast<uint16_t>(n));
    out.insert(out.end(), hs.begin() + static_cast<std::ptrdiff_t>(i),
               hs.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  return out;
}
inline Buf alpn_list(const std::vector<std::string>& protos) {
  Buf l;
  for (const auto& p : protos) {
    l.push_back(static_cast<uint8_t>(p.size()));
    append(l, p);
  }
  return vec16(l);
}

inline Buf client_hello(const std::string& sni, const std::vector<std::string>& alpn) {
  Buf b;
  put16(b, 0x0303);
  b.insert(b.end(), 32, 0x11);
  b.push_back(0);  // no session id
  Buf ciphers;
  for (uint16_t c : {0xc02f, 0xc030}) put16(ciphers, c);
  append(b, vec16(ciphers));
  b.push_back(1);
  b.push_back(0);
  Buf exts;
  Buf entry = {0};
  put16(entry, static_cast<uint16_t>(sni.size()));
  append(entry, sni);
  append(exts, extension(0, vec16(entry)));
  append(exts, extension(16, alpn_list(alpn)));
  append(b, vec16(exts));
  return handshake(1, b);
}

inline Buf server_hello(const std::string& alpn) {
  Buf b;
  put16(b, 0x0303);
  b.insert(b.end(), 32, 0x44);
  b.push_back(0);
  put16(b, 0xc02f);
  b.push_back(0);
  append(b, vec16(extension(16, alpn_list({alpn}))));
  return handshake(2, b);
}

// A self-signed certificate with hostile subject and issuer common names
// and SANs. Names are T61Strings: OpenSSL 3 refuses to decode a certificate
// whose UTF8String is not UTF-8, but renders T61 bytes as Latin-1, which
// turns 0x80-0x9f into C1 controls (U+0080-U+009F, valid UTF-8 that some
// terminals obey). SANs are IA5Strings copied byte for byte.
inline Buf certificate_der(const std::string& subject_cn, const std::string& issuer_cn,
                           const std::vector<std::string>& sans) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  auto name = [](const std::string& cn) {
    X509_NAME* n = X509_NAME_new();
    X509_NAME_add_entry_by_NID(n, NID_commonName, V_ASN1_T61STRING,
                               reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
    return n;
  };
  X509_NAME* s = name(subject_cn);
  X509_NAME* i = name(issuer_cn);
  X509_set_subject_name(x, s);
  X509_set_issuer_name(x, i);
  X509_NAME_free(s);
  X509_NAME_free(i);
  GENERAL_NAMES* gens = sk_GENERAL_NAME_new_null();
  for (const auto& san : sans) {
    GENERAL_NAME* g = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    ASN1_STRING_set(ia5, san.data(), static_cast<int>(san.size()));
    GENERAL_NAME_set0_value(g, GEN_DNS, ia5);
    sk_GENERAL_NAME_push(gens, g);
  }
  X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(gens);
  X509_sign(x, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  Buf out(der, der + (n > 0 ? n : 0));
  OPENSSL_free(der);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

inline Buf certificate_message(const Buf& der) {
  Buf entry;
  put24(entry, static_cast<uint32_t>(der.size()));
  append(entry, der);
  Buf list;
  put24(list, static_cast<uint32_t>(entry.size()));
  append(list, entry);
  return handshake(11, list);
}

// ---- DNS -------------------------------------------------------------------

inline Buf dns_name(const std::vector<std::string>& labels) {
  Buf b;
  for (const auto& l : labels) {
    b.push_back(static_cast<uint8_t>(l.size()));
    append(b, l);
  }
  b.push_back(0);
  return b;
}

inline Buf dns_message(uint16_t id, bool response, const Buf& qname, const std::vector<Buf>& answers,
                       const std::vector<Buf>& authorities = {},
                       const std::vector<Buf>& additionals = {}) {
  Buf b;
  put16(b, id);
  put16(b, response ? 0x8180 : 0x0100);
  put16(b, 1);
  put16(b, static_cast<uint16_t>(answers.size()));
  put16(b, static_cast<uint16_t>(authorities.size()));
  put16(b, static_cast<uint16_t>(additionals.size()));
  append(b, qname);
  put16(b, 16);  // TXT
  put16(b, 1);
  for (const auto& a : answers) append(b, a);
  for (const auto& a : authorities) append(b, a);
  for (const auto& a : additionals) append(b, a);
  return b;
}

inline Buf dns_rr(const Buf& owner, uint16_t type, const Buf& rdata) {
  Buf b = owner;
  put16(b, type);
  put16(b, 1);
  put32(b, 60);
  append(b, vec16(rdata));
  return b;
}

// ---- the capture -----------------------------------------------------------

// Hosts of the hostile capture (the e2e test tells its events apart by them).
constexpr uint8_t kClient[4] = {10, 66, 0, 1};
constexpr uint8_t kHttpServer[4] = {10, 66, 0, 80};
constexpr uint8_t kTlsServer[4] = {10, 66, 0, 43};
constexpr uint8_t kDnsServer[4] = {10, 66, 0, 53};

inline std::vector<Frame> frames() {
  std::vector<Frame> out;
  int64_t clock = 1'700'000'000'000'000;

  // HTTP: every request and response text field damaged ...
  {
    TcpSession s({{kClient[0], kClient[1], kClient[2], kClient[3]},
                  {kHttpServer[0], kHttpServer[1], kHttpServer[2], kHttpServer[3]}, 40000, 80},
                 clock, out);
    s.client(http_request("/uri" + damage() + "?q",
                          {{"Host", wire("host")},
                           {"User-Agent", wire("ua")},
                           {"Referer", wire("ref")},
                           {"Content-Type", wire("reqct")}}));
    s.server(http_response(wire("reason"), wire("respct")));
    // ... then over-long values in the next request of the same connection.
    s.client(http_request("/" + std::string(kLongLen / 8, 'u'),
                          {{"Host", std::string(kLongLen / 8, '\xe4')},
                           {"User-Agent", std::string(kLongLen / 8, 'a')},
                           {"Referer", std::string(kLongLen / 8, '\\')},
                           {"Content-Type", std::string(kLongLen / 8, 'c')}}));
    s.server(http_response(std::string(kLongLen / 8, '\x01'), std::string(kLongLen / 8, 't')));
    s.close();
  }

  // TLS 1.2: ClientHello with hostile SNI and ALPN, ServerHello with a
  // hostile ALPN, a certificate with hostile names.
  {
    TcpSession s({{kClient[0], kClient[1], kClient[2], kClient[3]},
                  {kTlsServer[0], kTlsServer[1], kTlsServer[2], kTlsServer[3]}, 40001, 443},
                 clock, out);
    s.client(records(client_hello(wire("sni"), {"h2", wire("alpn1"), wire("alpn2")})));
    Buf flight = server_hello(wire("alpnsel"));
    append(flight, certificate_message(
                       certificate_der(subject_t61(), issuer_t61(), {wire("san1"), "ok.example"})));
    append(flight, handshake(14, {}));  // ServerHelloDone
    s.server(records(flight));
    s.close();
  }
  // TLS with over-long SNI, ALPN (255, the most one entry can hold) and names.
  {
    TcpSession s({{kClient[0], kClient[1], kClient[2], kClient[3]},
                  {kTlsServer[0], kTlsServer[1], kTlsServer[2], kTlsServer[3]}, 40002, 443},
                 clock, out);
    s.client(records(client_hello(std::string(16000, '\xff'), {std::string(255, '\x00')})));
    Buf flight = server_hello(std::string(255, '\xe4'));
    append(flight, certificate_message(certificate_der(
                       std::string(8000, '\xe4'), std::string(8000, 'i'), {std::string(4000, '\x7f')})));
    append(flight, handshake(14, {}));
    s.server(records(flight));
    s.close();
  }

  // DNS: hostile question name, answer owner, CNAME target and TXT string.
  {
    const Buf qname = dns_name({"q", dns_label(), "example"});
    Buf txt = {static_cast<uint8_t>(damage().size())};
    append(txt, damage());
    const std::vector<Buf> answers = {dns_rr(qname, 5, dns_name({"c", dns_label()})),
                                      dns_rr(qname, 16, txt)};
    // Authority: NS of a hostile zone; additional: a hostile TXT owner.
    const Buf zone = dns_name({"z", dns_label()});
    const std::vector<Buf> authorities = {dns_rr(zone, 2, dns_name({"ns", dns_label()}))};
    const std::vector<Buf> additionals = {dns_rr(dns_name({"a", dns_label()}), 16, txt)};
    out.push_back(udp_frame(kClient, kDnsServer, 40003, 53, dns_message(0x4242, false, qname, {}), clock));
    out.push_back(udp_frame(kDnsServer, kClient, 53, 40003,
                            dns_message(0x4242, true, qname, answers, authorities, additionals), clock));
    // Over-long TXT data: 40 strings of 255 bytes that each escape to 1022.
    Buf long_txt;
    for (int i = 0; i < 40; ++i) {
      long_txt.push_back(255);
      long_txt.insert(long_txt.end(), 255, 0xff);
    }
    const Buf lname = dns_name({"long", "example"});
    out.push_back(udp_frame(kClient, kDnsServer, 40004, 53, dns_message(0x4343, false, lname, {}), clock));
    out.push_back(udp_frame(kDnsServer, kClient, 53, 40004,
                            dns_message(0x4343, true, lname, {dns_rr(lname, 16, long_txt)}), clock));
  }
  return out;
}

inline bool write(const std::string& path) {
  std::vector<tapir::testing::Frame> out;
  for (const auto& f : frames()) {
    out.emplace_back();
    out.back().ts_us = f.ts_us;
    out.back().data = f.data;
  }
  return tapir::testing::write_pcap(path, out);
}

}  // namespace tapir::testing::hostile
