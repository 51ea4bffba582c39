// TLS handshake parser (RFC 5246, RFC 8446, RFC 6066, RFC 7301). Pure: bytes in,
// plain structs out; no flows, no events, no protobuf. Every read goes through
// ByteReader and every loop over message data is bounded, so it can be fed
// anything.
//
// Two layers:
//  - message parsers (`parse_client_hello`, `parse_server_hello`,
//    `parse_certificate_list`) read the body of one handshake message;
//  - `HandshakeStream` follows one direction of a connection: it cuts the
//    byte stream into records, joins handshake fragments across records and
//    hands out whole handshake messages, until the direction turns encrypted.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"

namespace tapir::analyzers::tls {

// RFC 8446 5.1: a TLSPlaintext fragment is at most 2^14 bytes; 5.2 allows
// 2^14 + 256 for ciphertext. Anything longer is not TLS.
constexpr size_t kMaxRecordLen = (1u << 14) + 256;
constexpr size_t kRecordHeaderLen = 5;
constexpr size_t kHandshakeHeaderLen = 4;
// A handshake message we reassemble across records. Certificate chains are the
// biggest thing we read: most stay below 16 KiB, but certificates with
// thousands of SANs exist (Zeek's fragmented-handshake trace carries a 340 KB
// leaf). The buffer lives only until the handshake ends; a message larger
// than this is skipped (counted as an anomaly) rather than buffered.
constexpr size_t kMaxHandshakeMessage = 1024u * 1024;
// List lengths kept from one hello. A ClientHello fits in 64 KiB, so this only
// bounds what one event can carry; the 2-byte cipher list holds at most 32767.
constexpr size_t kMaxListItems = 512;
// ALPN protocol names kept from one ClientHello.
constexpr size_t kMaxAlpn = 32;
// Certificates parsed from one Certificate message; longer chains are counted.
constexpr size_t kMaxCertificates = 16;
// Handshake messages handed out per direction. A real handshake has fewer
// than ten per side; after this many the direction is given up, so a peer
// streaming tiny plaintext handshake messages cannot keep us parsing forever.
constexpr int kMaxHandshakeMessages = 64;
// Unencrypted alerts recorded per direction.
constexpr size_t kMaxAlerts = 8;

namespace content {
constexpr uint8_t kChangeCipherSpec = 20, kAlert = 21, kHandshake = 22, kApplicationData = 23,
                  kHeartbeat = 24;
}  // namespace content

namespace hs {
constexpr uint8_t kHelloRequest = 0, kClientHello = 1, kServerHello = 2, kNewSessionTicket = 4,
                  kEndOfEarlyData = 5, kEncryptedExtensions = 8, kCertificate = 11,
                  kServerKeyExchange = 12, kCertificateRequest = 13, kServerHelloDone = 14,
                  kCertificateVerify = 15, kClientKeyExchange = 16, kFinished = 20,
                  kCertificateStatus = 22;
}  // namespace hs

namespace ext {
constexpr uint16_t kServerName = 0, kSupportedGroups = 10, kEcPointFormats = 11,
                   kSignatureAlgorithms = 13, kAlpn = 16, kSessionTicket = 35,
                   kPreSharedKey = 41, kEarlyData = 42, kSupportedVersions = 43,
                   kKeyShare = 51, kEncryptedClientHello = 0xfe0d;
}  // namespace ext

// RFC 8701: values of the form 0x?a?a with both bytes equal are GREASE.
inline bool is_grease(uint16_t v) { return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff); }

// "TLSv1.2", "TLSv1.3", "SSLv3", "TLSv1.3-draft23" ...; "unknown" otherwise.
std::string version_name(uint16_t v);

struct ClientHello {
  uint16_t record_version = 0;  // filled in by HandshakeStream
  uint16_t version = 0;
  uint8_t session_id_len = 0;
  std::vector<uint16_t> ciphers;
  std::vector<uint16_t> extensions;
  std::vector<uint16_t> groups;
  std::vector<uint8_t> ec_point_formats;
  std::vector<uint16_t> signature_algorithms;
  std::vector<uint16_t> key_share_groups;
  std::vector<uint16_t> supported_versions;
  std::vector<std::string> alpn;
  std::string sni;
  bool session_ticket = false;  // session_ticket extension with a ticket in it
  bool psk = false;             // pre_shared_key extension
  bool ech = false;             // encrypted_client_hello extension
  bool truncated = false;       // the message ended inside a field
};

struct ServerHello {
  uint16_t version = 0;
  uint16_t supported_version = 0;  // supported_versions extension (TLS 1.3), 0 if absent
  uint16_t cipher = 0;
  uint8_t session_id_len = 0;
  std::array<uint8_t, 32> session_id{};
  std::vector<uint16_t> extensions;
  std::string alpn;
  uint16_t key_share_group = 0;
  bool hello_retry = false;  // RFC 8446 4.1.3: the special HelloRetryRequest random
  bool psk = false;          // pre_shared_key accepted (TLS 1.3 resumption)
  bool truncated = false;
  // The version the connection settles on.
  uint16_t negotiated() const { return supported_version != 0 ? supported_version : version; }
};

// Parses the body (after the 4-byte header) of a ClientHello. False when the
// fixed part is cut short; extension damage sets `truncated` and keeps going.
bool parse_client_hello(Bytes body, ClientHello& out);
bool parse_server_hello(Bytes body, ServerHello& out);
// The DER certificates of a TLS <= 1.2 Certificate message (views into
// `body`); `total` counts them all, `out` keeps at most kMaxCertificates.
bool parse_certificate_list(Bytes body, std::vector<Bytes>& out, uint32_t& total);

// JA3 (Salesforce): "version,ciphers,extensions,groups,point_formats" in
// decimal, '-'-joined, GREASE removed.
std::string ja3_string(const ClientHello& ch);
// JA3S: "version,cipher,extensions".
std::string ja3s_string(const ServerHello& sh);
// Lower-case hex MD5 of a string (JA3/JA3S hash).
std::string md5_hex(std::string_view s);
// JA4 TLS client fingerprint (FoxIO JA4 specification); `quic` selects the
// 'q' protocol letter.
std::string ja4(const ClientHello& ch, bool quic);

// A handshake message handed out by HandshakeStream; `body` is valid until
// the next call to feed()/next().
struct HandshakeMessage {
  uint8_t type = 0;
  uint16_t record_version = 0;  // of the record the message started in
  Bytes body;
};

// One direction of a TLS connection, up to the point where it turns
// encrypted. Feed it the direction's bytes in order; pull messages with next().
class HandshakeStream {
 public:
  enum class State : uint8_t {
    kHandshake,   // plaintext records
    kEncrypted,   // ChangeCipherSpec or application data seen: nothing more to read
    kNotTls,      // the bytes are not TLS records
  };

  // Appends stream bytes. Only the part that does not form a whole record is
  // copied (bounded by one record); whole records are parsed in place.
  void feed(const uint8_t* data, size_t len);
  // Bytes were lost: records cannot be found again, so the direction ends.
  void gap();
  // Next complete handshake message, or false when none is ready.
  bool next(HandshakeMessage& out);

  // Called by the owner once it knows later handshake messages are
  // encrypted (TLS 1.3 after ServerHello).
  void set_encrypted() {
    if (state_ == State::kHandshake) state_ = State::kEncrypted;
  }
  // TLS 1.3 middlebox compatibility (RFC 8446 D.4) sends ChangeCipherSpec
  // records that change nothing, even before a second ClientHello; the owner
  // turns this off while TLS 1.3 is possible and decides itself when
  // plaintext ends.
  void set_ccs_ends_plaintext(bool v) { ccs_ends_plaintext_ = v; }

  State state() const { return state_; }
  bool done() const { return state_ != State::kHandshake; }
  uint16_t first_record_version() const { return first_record_version_; }
  // Unencrypted alerts: level * 256 + description.
  const std::vector<uint16_t>& alerts() const { return alerts_; }
  bool saw_change_cipher_spec() const { return ccs_; }
  // Anomalies: oversized handshake message skipped, record too long ...
  uint32_t anomalies() const { return anomalies_; }
  uint64_t records() const { return records_; }

 private:
  void on_record(uint8_t type, uint16_t version, const uint8_t* data, size_t len);
  void consume_records(const uint8_t* data, size_t len, size_t& used);

  State state_ = State::kHandshake;
  uint16_t first_record_version_ = 0;
  uint16_t hs_record_version_ = 0;
  std::vector<uint8_t> partial_;    // an incomplete record
  std::vector<uint8_t> hs_;         // handshake bytes not yet handed out
  size_t hs_pos_ = 0;               // start of the next message in hs_
  size_t skip_ = 0;                 // bytes of an oversized message still to skip
  std::vector<uint16_t> alerts_;
  bool ccs_ = false;
  bool ccs_ends_plaintext_ = true;
  int messages_ = 0;
  uint32_t anomalies_ = 0;
  uint64_t records_ = 0;
};

// Whether `data` starts like a TLS record carrying a ClientHello (content
// detection on any port).
bool looks_like_client_hello(const uint8_t* data, size_t len);

}  // namespace tapir::analyzers::tls
