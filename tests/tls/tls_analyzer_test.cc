// The TLS analyzer through the real engine on hand-built connections (cases
// the corpus lacks or shows only once): a HelloRetryRequest with its second
// ClientHello, ServerHello extension order in JA3S, and a second ClientHello
// nobody asked for. Expected values are the ones written into the bytes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "crafted_tcp.h"
#include "tls_build.h"

namespace tapir {
namespace {

using namespace tapir::testing::tls_build;
using tapir::testing::CraftedFrame;
using tapir::testing::TcpConversation;
namespace flag = tapir::testing::tcpflag;

constexpr int kClient = 0, kServer = 1;

std::vector<v1::Tls> tls_of(const std::vector<CraftedFrame>& frames) {
  std::vector<v1::Tls> out;
  for (auto& e : tapir::testing::run_frames(frames, {"tls"}))
    if (e.has_tls()) out.push_back(e.tls());
  return out;
}

Buf ccs() { return Buf{content::kChangeCipherSpec, 3, 3, 0, 1, 1}; }
Buf app_data(size_t n) {
  Buf b = {content::kApplicationData, 3, 3};
  put16(b, static_cast<uint16_t>(n));
  b.insert(b.end(), n, 0x5a);
  return b;
}

// RFC 8446 4.1.4 in full: ClientHello (x25519 share), HelloRetryRequest for
// secp256r1 (supported_versions, key_share), the compatibility
// ChangeCipherSpecs, the second ClientHello (secp256r1 share and the cookie),
// the concluding ServerHello (key_share, supported_versions), encrypted data.
std::vector<CraftedFrame> hello_retry_connection(TimeNs* second_ch_ts) {
  TcpConversation c(51000, 443);
  std::vector<CraftedFrame> f;
  f.push_back(c.segment(kClient, flag::kSyn));
  f.push_back(c.segment(kServer, flag::kSyn | flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh,
                        records(handshake(hs::kClientHello, client_hello_body(0x001d)), 4000)));
  Buf hrr = records(handshake(hs::kServerHello, server_hello_body(true, 0x0017, {43, 51})), 4000);
  append(hrr, ccs());
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, hrr));
  Buf ch2 = ccs();
  append(ch2, records(handshake(hs::kClientHello, client_hello_body(0x0017, true)), 4000));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh, ch2));
  if (second_ch_ts != nullptr) *second_ch_ts = f.back().ts;
  Buf sh = records(handshake(hs::kServerHello, server_hello_body(false, 0x0017, {51, 43})), 4000);
  append(sh, app_data(300));  // EncryptedExtensions, Certificate ... (encrypted)
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, sh));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh, app_data(60)));
  f.push_back(c.segment(kClient, flag::kAck | flag::kFin));
  f.push_back(c.segment(kServer, flag::kAck | flag::kFin));
  f.push_back(c.segment(kClient, flag::kAck));
  return f;
}

TEST(TlsAnalyzer, HelloRetryReportsBothClientHellos) {
  TimeNs second_ts = 0;
  const auto ev = tls_of(hello_retry_connection(&second_ts));
  // One connection, one handshake, one event.
  ASSERT_EQ(ev.size(), 1u);
  const v1::Tls& t = ev[0];
  EXPECT_TRUE(t.hello_retry());
  EXPECT_EQ(t.sni(), "example.org");
  // The first ClientHello stays the connection's fingerprint.
  EXPECT_EQ(t.ja3(), "771,4865-4866-49195,0-10-11-13-16-51-43,29-23,0");
  EXPECT_EQ(t.ja3_hash(), analyzers::tls::md5_hex(t.ja3()));
  EXPECT_EQ(std::vector<uint32_t>(t.key_share_groups().begin(), t.key_share_groups().end()),
            std::vector<uint32_t>{0x001d});
  // The second one: its own extension list (cookie, 44, added), key share and
  // fingerprints.
  EXPECT_EQ(t.retry_ja3(), "771,4865-4866-49195,0-10-11-13-16-51-43-44,29-23,0");
  EXPECT_EQ(t.retry_ja3_hash(), analyzers::tls::md5_hex(t.retry_ja3()));
  EXPECT_EQ(std::vector<uint32_t>(t.retry_client_extensions().begin(),
                                  t.retry_client_extensions().end()),
            (std::vector<uint32_t>{0x1a1a, 0, 10, 11, 13, 16, 51, 43, 44}));
  EXPECT_EQ(std::vector<uint32_t>(t.retry_key_share_groups().begin(),
                                  t.retry_key_share_groups().end()),
            std::vector<uint32_t>{0x0017});
  // JA4 counts extensions: 8 without GREASE, 7 in the first ClientHello.
  EXPECT_EQ(t.ja4().substr(0, 10), "t13d0307h2");
  EXPECT_EQ(t.retry_ja4().substr(0, 10), "t13d0308h2");
  EXPECT_EQ(t.retry_ts().seconds() * kNsPerSec + t.retry_ts().nanos(), second_ts);
  // The HelloRetryRequest and the concluding ServerHello, each in wire order.
  EXPECT_EQ(t.hello_retry_group(), 0x0017u);
  EXPECT_EQ(t.hello_retry_ja3s(), "771,4865,43-51");
  EXPECT_EQ(t.hello_retry_ja3s_hash(), analyzers::tls::md5_hex("771,4865,43-51"));
  EXPECT_EQ(t.ja3s(), "771,4865,51-43");
  EXPECT_EQ(t.version_name(), "TLSv1.3");
  EXPECT_EQ(t.cipher(), 0x1301u);
  EXPECT_GT(t.rtt_us(), 0u);
}

TEST(TlsAnalyzer, NoRetryFieldsWithoutHelloRetryRequest) {
  // A second ClientHello that no HelloRetryRequest asked for is not a retry
  // (a TLS 1.2 renegotiation would be encrypted): nothing is reported for it.
  TcpConversation c(51001, 443);
  std::vector<CraftedFrame> f;
  f.push_back(c.segment(kClient, flag::kSyn));
  f.push_back(c.segment(kServer, flag::kSyn | flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh,
                        records(handshake(hs::kClientHello, client_hello_body()), 4000)));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh,
                        records(handshake(hs::kClientHello, client_hello_body(0x0017, true)), 4000)));
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh,
                        records(handshake(hs::kServerHello, server_hello_body(false, 0x001d, {43, 51})), 4000)));
  f.push_back(c.segment(kClient, flag::kAck | flag::kFin));
  f.push_back(c.segment(kServer, flag::kAck | flag::kFin));
  const auto ev = tls_of(f);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_FALSE(ev[0].hello_retry());
  EXPECT_TRUE(ev[0].retry_ja3().empty());
  EXPECT_TRUE(ev[0].hello_retry_ja3s().empty());
  EXPECT_FALSE(ev[0].has_retry_ts());
  EXPECT_EQ(ev[0].ja3s(), "771,4865,43-51");
}

TEST(TlsAnalyzer, Ja3sKeepsServerExtensionWireOrder) {
  // The same ServerHello with its two extensions in either order: JA3S lists
  // them as sent (tshark's and the JA3 reference implementation's rule).
  for (const auto& [order, want] :
       std::vector<std::pair<std::vector<uint16_t>, std::string>>{
           {{43, 51}, "771,4865,43-51"}, {{51, 43}, "771,4865,51-43"}}) {
    const Buf body = server_hello_body(false, 0x001d, order);
    ServerHello sh;
    ASSERT_TRUE(parse_server_hello(Bytes(body.data(), body.size()), sh));
    EXPECT_EQ(ja3s_string(sh), want);
  }
}

}  // namespace
}  // namespace tapir
