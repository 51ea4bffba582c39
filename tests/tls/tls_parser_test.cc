// TLS parser units: hand-built hellos (RFC 8446 layouts) through
// HandshakeStream in every split, GREASE handling in JA3, damage handling.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "analyzers/tls/parser.h"
#include "tls_build.h"

namespace tapir::analyzers::tls {
namespace {

using namespace tapir::testing::tls_build;

TEST(TlsParser, ClientHelloFields) {
  const Buf body = client_hello_body();
  ClientHello ch;
  ASSERT_TRUE(parse_client_hello(Bytes(body.data(), body.size()), ch));
  EXPECT_FALSE(ch.truncated);
  EXPECT_EQ(ch.version, 0x0303);
  EXPECT_EQ(ch.session_id_len, 32);
  EXPECT_EQ(ch.sni, "example.org");
  EXPECT_EQ(ch.alpn, (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(ch.ciphers, (std::vector<uint16_t>{0x0a0a, 0x1301, 0x1302, 0xc02b}));
  EXPECT_EQ(ch.groups, (std::vector<uint16_t>{0x2a2a, 0x001d, 0x0017}));
  EXPECT_EQ(ch.key_share_groups, (std::vector<uint16_t>{0x001d}));
  EXPECT_EQ(ch.supported_versions, (std::vector<uint16_t>{0x3a3a, 0x0304, 0x0303}));
  EXPECT_EQ(ch.signature_algorithms, (std::vector<uint16_t>{0x0403, 0x0804}));
  EXPECT_EQ(ch.extensions,
            (std::vector<uint16_t>{0x1a1a, 0, 10, 11, 13, 16, 51, 43}));
  // JA3 drops GREASE from every list (ciphers, extensions, groups).
  EXPECT_EQ(ja3_string(ch), "771,4865-4866-49195,0-10-11-13-16-51-43,29-23,0");
  // JA4: TLS 1.3 from supported_versions, SNI present, 3 ciphers, 7 extensions, "h2".
  const std::string j = ja4(ch, false);
  EXPECT_EQ(j.substr(0, 11), "t13d0307h2_");
  EXPECT_EQ(j.size(), 11u + 12 + 1 + 12);
  EXPECT_EQ(ja4(ch, true).substr(0, 1), "q");
}

TEST(TlsParser, JaHashesAreMd5) {
  // RFC 1321 test vector.
  EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(TlsParser, GreaseValues) {
  EXPECT_TRUE(is_grease(0x0a0a));
  EXPECT_TRUE(is_grease(0xfafa));
  EXPECT_FALSE(is_grease(0x0a1a));
  EXPECT_FALSE(is_grease(0x1301));
}

// The same ClientHello, fragmented over records of every size and fed in
// chunks of every size, comes out whole and identical.
TEST(TlsParser, FragmentedOverRecordsAndSegments) {
  const Buf hs = handshake(hs::kClientHello, client_hello_body());
  for (size_t rec : {size_t{1}, size_t{7}, size_t{100}, hs.size()}) {
    const Buf stream = records(hs, rec);
    for (size_t chunk : {size_t{1}, size_t{3}, size_t{64}, stream.size()}) {
      HandshakeStream s;
      HandshakeMessage m;
      int got = 0;
      ClientHello ch;
      for (size_t i = 0; i < stream.size(); i += chunk) {
        s.feed(stream.data() + i, std::min(chunk, stream.size() - i));
        while (s.next(m)) {
          ++got;
          EXPECT_EQ(m.type, hs::kClientHello);
          ASSERT_TRUE(parse_client_hello(m.body, ch));
        }
      }
      EXPECT_EQ(got, 1) << "record " << rec << " chunk " << chunk;
      EXPECT_EQ(ch.sni, "example.org");
      EXPECT_EQ(s.state(), HandshakeStream::State::kHandshake);
      EXPECT_EQ(s.first_record_version(), 0x0301);
    }
  }
}

TEST(TlsParser, ChangeCipherSpecEndsPlaintext) {
  Buf stream = records(handshake(hs::kClientHello, client_hello_body()), 1000);
  append(stream, Buf{content::kChangeCipherSpec, 3, 3, 0, 1, 1});
  append(stream, records(Buf(40, 0x55), 40));  // encrypted Finished: not parsed
  HandshakeStream s;
  s.feed(stream.data(), stream.size());
  HandshakeMessage m;
  int n = 0;
  while (s.next(m)) ++n;
  EXPECT_EQ(n, 1);
  EXPECT_EQ(s.state(), HandshakeStream::State::kEncrypted);
  EXPECT_TRUE(s.saw_change_cipher_spec());
}

TEST(TlsParser, CompatChangeCipherSpecKeepsReading) {
  Buf stream = {content::kChangeCipherSpec, 3, 3, 0, 1, 1};
  append(stream, records(handshake(hs::kClientHello, client_hello_body()), 1000));
  HandshakeStream s;
  s.set_ccs_ends_plaintext(false);
  s.feed(stream.data(), stream.size());
  HandshakeMessage m;
  EXPECT_TRUE(s.next(m));
  EXPECT_EQ(m.type, hs::kClientHello);
}

TEST(TlsParser, AlertsRecorded) {
  const Buf stream = {content::kAlert, 3, 3, 0, 2, 2, 70};
  HandshakeStream s;
  s.feed(stream.data(), stream.size());
  ASSERT_EQ(s.alerts().size(), 1u);
  EXPECT_EQ(s.alerts()[0], 2 * 256 + 70);  // fatal protocol_version
}

TEST(TlsParser, NotTls) {
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  HandshakeStream s;
  s.feed(reinterpret_cast<const uint8_t*>(http.data()), http.size());
  EXPECT_EQ(s.state(), HandshakeStream::State::kNotTls);
  EXPECT_FALSE(looks_like_client_hello(reinterpret_cast<const uint8_t*>(http.data()),
                                       http.size()));
  const Buf ch = records(handshake(hs::kClientHello, client_hello_body()), 1000);
  EXPECT_TRUE(looks_like_client_hello(ch.data(), ch.size()));
}

TEST(TlsParser, OversizedHandshakeMessageSkipped) {
  // A message announcing 16 MiB is skipped without being buffered, and the
  // message after it is still found.
  Buf hs = {hs::kCertificate};
  put24(hs, 0xffffff);
  Buf stream = records(hs, 4);
  HandshakeStream s;
  s.feed(stream.data(), stream.size());
  HandshakeMessage m;
  EXPECT_FALSE(s.next(m));
  EXPECT_EQ(s.anomalies(), 1u);
}

TEST(TlsParser, TruncatedHellosFailCleanly) {
  const Buf body = client_hello_body();
  for (size_t n = 0; n < body.size(); ++n) {
    ClientHello ch;
    parse_client_hello(Bytes(body.data(), n), ch);  // must not read past n
    ServerHello sh;
    parse_server_hello(Bytes(body.data(), n), sh);
  }
  ClientHello ch;
  EXPECT_FALSE(parse_client_hello(Bytes(body.data(), 20), ch));
  EXPECT_TRUE(ch.truncated);
}

TEST(TlsParser, ServerHelloAndHelloRetry) {
  static const uint8_t kHrr[32] = {
      0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
      0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
  Buf b;
  put16(b, 0x0303);
  b.insert(b.end(), kHrr, kHrr + 32);
  b.push_back(0);
  put16(b, 0x1301);
  b.push_back(0);
  Buf exts;
  append(exts, extension(ext::kSupportedVersions, {0x03, 0x04}));
  append(exts, extension(ext::kKeyShare, {0x00, 0x17}));
  append(b, vec16(exts));
  ServerHello sh;
  ASSERT_TRUE(parse_server_hello(Bytes(b.data(), b.size()), sh));
  EXPECT_TRUE(sh.hello_retry);
  EXPECT_EQ(sh.negotiated(), 0x0304);
  EXPECT_EQ(sh.key_share_group, 0x0017);
  EXPECT_EQ(ja3s_string(sh), "771,4865,43-51");
  EXPECT_EQ(version_name(sh.negotiated()), "TLSv1.3");
}

}  // namespace
}  // namespace tapir::analyzers::tls
