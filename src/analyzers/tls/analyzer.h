// TLS analyzer: follows both directions of a TLS connection through
// HandshakeStream, pairs the ClientHello with the ServerHello and the server's
// certificates, and emits one v1::Tls event per connection when the handshake
// turns encrypted (or when the flow ends first). A HelloRetryRequest and the
// second ClientHello it asks for are reported on that same event (the
// hello_retry_* and retry_* fields), not as a second event: a connection has
// one handshake, as Zeek's ssl.log has one row per connection.
#pragma once

#include <cstddef>
#include <cstdint>

#include "analyzers/tls/cert.h"
#include "analyzers/tls/parser.h"
#include "tapir/v1/events.pb.h"

namespace tapir::analyzers::tls {

// Limits on wire text in an event, in bytes of escaped text (docs/analyzers.md,
// "Text from the wire"); longer values are cut and flagged TLS_TEXT_CUT.
// SNI, each ALPN id, each SAN: a DNS name is at most 253 characters and an
// ALPN id 255 bytes, so any legal value fits even with every byte escaped.
constexpr size_t kMaxNameText = 1024;
// Certificate subject and issuer: real distinguished names are a few hundred
// characters (RFC 5280 bounds single attributes to 64-200).
constexpr size_t kMaxDnText = 4096;

// Ports claimed on a plausible TLS record (implicit-TLS services); other ports
// are claimed only on a ClientHello.
bool is_tls_port(uint16_t port);

// Fills the ClientHello part of an event (also used for QUIC Initials).
void fill_client_hello(v1::Tls& m, const ClientHello& ch, bool quic);
void fill_server_hello(v1::Tls& m, const ServerHello& sh);
// The HelloRetryRequest and the second ClientHello that answered it.
void fill_hello_retry(v1::Tls& m, const ServerHello& hrr);
void fill_retry_client_hello(v1::Tls& m, const ClientHello& ch);
void fill_certificate(v1::Tls& m, const CertInfo& c, uint32_t chain_len);

}  // namespace tapir::analyzers::tls
