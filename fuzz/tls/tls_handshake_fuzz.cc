// Feeds arbitrary bytes to the TLS handshake stream (cut at a position taken
// from the first byte, so record and segment boundaries vary) and every
// message it yields to the message parsers, the fingerprints and OpenSSL's
// certificate reader.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "analyzers/tls/cert.h"
#include "analyzers/tls/parser.h"

using namespace tapir::analyzers::tls;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cut = data[0] % (size);
  HandshakeStream s;
  s.set_ccs_ends_plaintext(data[0] & 1);
  HandshakeMessage m;
  auto drain = [&] {
    while (s.next(m)) {
      switch (m.type) {
        case hs::kClientHello: {
          ClientHello ch;
          if (parse_client_hello(m.body, ch)) {
            (void)ja3_string(ch);
            (void)ja4(ch, false);
          }
          break;
        }
        case hs::kServerHello: {
          ServerHello sh;
          if (parse_server_hello(m.body, sh)) (void)ja3s_string(sh);
          break;
        }
        case hs::kCertificate: {
          std::vector<tapir::Bytes> ders;
          uint32_t total = 0;
          parse_certificate_list(m.body, ders, total);
          for (auto d : ders) {
            CertInfo c;
            std::string err;
            parse_certificate(d, c, err);
          }
          break;
        }
        default:
          break;
      }
    }
  };
  s.feed(data + 1, cut);
  drain();
  s.feed(data + 1 + cut, size - 1 - cut);
  drain();
  return 0;
}
