// TLS analyzer: follows both directions of a TLS connection through
// HandshakeStream, pairs the ClientHello with the ServerHello and the server's
// certificates, and emits one v1::Tls event per connection when the handshake
// turns encrypted (or when the flow ends first). A HelloRetryRequest and the
// second ClientHello it asks for are reported on that same event (the
// hello_retry_* and retry_* fields), not as a second event: a connection has
// one handshake, as Zeek's ssl.log has one row per connection.
#pragma once

#include <cstdint>

#include "analyzers/tls/cert.h"
#include "analyzers/tls/parser.h"
#include "tapir/v1/events.pb.h"

namespace tapir::analyzers::tls {

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
