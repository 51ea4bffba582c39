// Live TLS 1.2 and 1.3 handshakes on loopback: openssl s_server and s_client
// (and curl) with chosen SNI, ALPN and cipher, captured on lo with tcpdump,
// then decoded by Tapir's engine. Tapir's fields must equal what the client
// was told to send, what the server certificate holds, and what tshark reads
// from the same capture.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "capture/source.h"
#include "export/memory_sink.h"
#include "pipeline/engine.h"

#include "corpus_util.h"
#include "live_util.h"

namespace tapir {
namespace {

using testing::Child;
using testing::hex;
using testing::output_of;
using testing::read_file;
using testing::run;

class TlsLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for tcpdump on lo";
    dir_ = std::filesystem::temp_directory_path() /
           ("tapir-tls-live-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    ASSERT_EQ(run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                   "-subj", "/CN=test.example/O=Tapir Test", "-addext",
                   "subjectAltName=DNS:test.example,DNS:alt.example", "-keyout", path("key.pem"),
                   "-out", path("cert.pem")}),
              0);
    run({"openssl", "x509", "-in", path("cert.pem"), "-outform", "DER", "-out", path("cert.der")});
  }
  void TearDown() override {
    // A failed test keeps its capture and logs for a look.
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }

  // One handshake captured; returns Tapir's TLS events.
  std::vector<v1::Tls> handshake(const std::vector<std::string>& server_args,
                                 const std::vector<std::string>& client_args) {
    const uint16_t port = testing::free_port();
    testing::LoCapture cap(path("cap.pcap"), port, path("tcpdump.log"));
    EXPECT_TRUE(cap.ready()) << read_file(path("tcpdump.log"));
    std::vector<std::string> s = {"openssl", "s_server", "-accept",
                                  "127.0.0.1:" + std::to_string(port), "-cert", path("cert.pem"),
                                  "-key", path("key.pem"), "-quiet"};
    s.insert(s.end(), server_args.begin(), server_args.end());
    Child server(s, "/dev/null", path("server.log"));
    EXPECT_TRUE(testing::wait_listening(port));
    // The readiness probe is a TCP connection without payload: nothing for
    // an analyzer to claim, and the server goes on accepting.
    std::vector<std::string> c = {"openssl", "s_client", "-connect",
                                  "127.0.0.1:" + std::to_string(port)};
    c.insert(c.end(), client_args.begin(), client_args.end());
    run(c, "/dev/null", path("client.log"));
    cap.stop();
    server.stop();
    std::string err;
    auto events = testing::run_engine(path("cap.pcap"), {"tls"}, &err);
    EXPECT_EQ(err, "");
    std::vector<v1::Tls> out;
    for (auto& e : events)
      if (e.has_tls() && e.tls().has_dst() && e.tls().dst().port() == port) out.push_back(e.tls());
    return out;
  }

  // tshark's reading of the capture's ClientHello/ServerHello (the nth one, from 0).
  std::map<std::string, std::string> tshark_fields(int type, int nth = 0) {
    const std::string fields[] = {"tls.handshake.extensions_server_name",
                                  "tls.handshake.extensions_alpn_str", "tls.handshake.ja3_full",
                                  "tls.handshake.ja3", "tls.handshake.ja3s_full",
                                  "tls.handshake.ja3s", "tls.handshake.ciphersuite"};
    std::vector<std::string> argv = {"tshark", "-r", path("cap.pcap"), "-Y",
                                     "tls.handshake.type == " + std::to_string(type), "-T",
                                     "fields", "-E", "occurrence=f"};
    for (const auto& f : fields) {
      argv.push_back("-e");
      argv.push_back(f);
    }
    std::string text = output_of(argv, path("tshark.out"));
    for (int i = 0; i < nth && text.find('\n') != std::string::npos; ++i)
      text = text.substr(text.find('\n') + 1);
    text = text.substr(0, text.find('\n'));
    const auto vals = testing::split_str(text, "\t");
    std::map<std::string, std::string> m;
    for (size_t i = 0; i < std::size(fields); ++i) m[fields[i]] = i < vals.size() ? vals[i] : "";
    return m;
  }

  void check_certificate(const v1::Tls& t) {
    EXPECT_EQ(t.cert_subject(), "O=Tapir Test,CN=test.example");
    EXPECT_EQ(t.cert_issuer(), "O=Tapir Test,CN=test.example");
    EXPECT_EQ(std::vector<std::string>(t.cert_san().begin(), t.cert_san().end()),
              (std::vector<std::string>{"test.example", "alt.example"}));
    EXPECT_EQ(t.cert_key_type(), "rsa");
    EXPECT_EQ(t.cert_key_bits(), 2048u);
    EXPECT_EQ(t.cert_chain_len(), 1u);
    // The fingerprint the openssl tool computes from the same file.
    std::string fp = output_of({"openssl", "x509", "-in", path("cert.pem"), "-noout",
                                "-fingerprint", "-sha256"},
                               path("fp.out"));
    fp = fp.substr(fp.find('=') + 1);
    std::string want;
    for (char c : fp)
      if (isxdigit(static_cast<unsigned char>(c))) want += static_cast<char>(tolower(c));
    EXPECT_EQ(hex(t.cert_sha256()), want);
  }

  std::filesystem::path dir_;
};

TEST_F(TlsLive, Tls12ChosenSniAlpnCipher) {
  const auto ev = handshake({"-alpn", "h2"},
                            {"-tls1_2", "-servername", "test.example", "-alpn", "h2,http/1.1",
                             "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"});
  ASSERT_EQ(ev.size(), 1u) << read_file(path("client.log"));
  const v1::Tls& t = ev[0];
  EXPECT_EQ(t.sni(), "test.example");
  EXPECT_EQ(std::vector<std::string>(t.alpn_offered().begin(), t.alpn_offered().end()),
            (std::vector<std::string>{"h2", "http/1.1"}));
  EXPECT_EQ(t.alpn(), "h2");
  EXPECT_EQ(t.version_name(), "TLSv1.2");
  EXPECT_EQ(t.cipher(), 0xc02fu);  // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  EXPECT_GT(t.rtt_us(), 0u);
  check_certificate(t);
  const auto ch = tshark_fields(1);
  EXPECT_EQ(t.ja3(), ch.at("tls.handshake.ja3_full"));
  EXPECT_EQ(t.ja3_hash(), ch.at("tls.handshake.ja3"));
  const auto sh = tshark_fields(2);
  EXPECT_EQ(t.ja3s(), sh.at("tls.handshake.ja3s_full"));
  EXPECT_EQ(t.ja3s_hash(), sh.at("tls.handshake.ja3s"));
}

TEST_F(TlsLive, Tls13) {
  const auto ev = handshake({"-alpn", "http/1.1"},
                            {"-tls1_3", "-servername", "tls13.example", "-alpn", "http/1.1",
                             "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256", "-groups",
                             "X25519"});
  ASSERT_EQ(ev.size(), 1u) << read_file(path("client.log"));
  const v1::Tls& t = ev[0];
  EXPECT_EQ(t.sni(), "tls13.example");
  EXPECT_EQ(std::vector<std::string>(t.alpn_offered().begin(), t.alpn_offered().end()),
            (std::vector<std::string>{"http/1.1"}));
  // TLS 1.3 sends the selected protocol in EncryptedExtensions: not observable.
  EXPECT_EQ(t.alpn(), "");
  EXPECT_EQ(t.version(), 0x0304u);
  EXPECT_EQ(t.version_name(), "TLSv1.3");
  EXPECT_EQ(t.cipher(), 0x1303u);  // TLS_CHACHA20_POLY1305_SHA256
  EXPECT_EQ(std::vector<uint32_t>(t.key_share_groups().begin(), t.key_share_groups().end()),
            (std::vector<uint32_t>{0x001d}));  // x25519
  EXPECT_FALSE(t.hello_retry());
  EXPECT_EQ(t.cert_subject(), "");  // encrypted in TLS 1.3
  EXPECT_GT(t.rtt_us(), 0u);
  const auto ch = tshark_fields(1);
  EXPECT_EQ(t.ja3(), ch.at("tls.handshake.ja3_full"));
  const auto sh = tshark_fields(2);
  EXPECT_EQ(t.ja3s(), sh.at("tls.handshake.ja3s_full"));
}

TEST_F(TlsLive, Tls13HelloRetryRequest) {
  // The client's key share (x25519) is not what the server accepts (P-256):
  // the server must ask again (RFC 8446 4.1.4).
  const auto ev = handshake({"-groups", "P-256"},
                            {"-tls1_3", "-servername", "hrr.example", "-groups", "X25519:P-256"});
  ASSERT_EQ(ev.size(), 1u) << read_file(path("client.log"));
  const v1::Tls& t = ev[0];
  EXPECT_TRUE(t.hello_retry());
  EXPECT_EQ(t.version_name(), "TLSv1.3");
  EXPECT_EQ(t.sni(), "hrr.example");
  // tshark lists both ClientHellos and both ServerHellos (the first is the
  // HelloRetryRequest); each has its own fingerprint on the one event.
  EXPECT_EQ(t.ja3(), tshark_fields(1, 0).at("tls.handshake.ja3_full"));
  EXPECT_EQ(t.retry_ja3(), tshark_fields(1, 1).at("tls.handshake.ja3_full"));
  EXPECT_EQ(t.retry_ja3_hash(), tshark_fields(1, 1).at("tls.handshake.ja3"));
  EXPECT_EQ(t.hello_retry_ja3s(), tshark_fields(2, 0).at("tls.handshake.ja3s_full"));
  EXPECT_EQ(t.ja3s(), tshark_fields(2, 1).at("tls.handshake.ja3s_full"));
  EXPECT_EQ(t.ja3s_hash(), tshark_fields(2, 1).at("tls.handshake.ja3s"));
  EXPECT_EQ(t.hello_retry_group(), 0x0017u);  // P-256, the server's only group
  EXPECT_EQ(std::vector<uint32_t>(t.key_share_groups().begin(), t.key_share_groups().end()),
            (std::vector<uint32_t>{0x001d}));
  EXPECT_EQ(std::vector<uint32_t>(t.retry_key_share_groups().begin(),
                                  t.retry_key_share_groups().end()),
            (std::vector<uint32_t>{0x0017}));
}

TEST_F(TlsLive, CurlAgainstHttpsServer) {
  const uint16_t port = testing::free_port();
  testing::LoCapture cap(path("cap.pcap"), port, path("tcpdump.log"));
  ASSERT_TRUE(cap.ready());
  Child server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                path("cert.pem"), "-key", path("key.pem"), "-www", "-quiet"},
               "/dev/null", path("server.log"));
  ASSERT_TRUE(testing::wait_listening(port));
  run({"curl", "-sk", "--http1.1", "--resolve",
       "curl.example:" + std::to_string(port) + ":127.0.0.1",
       "https://curl.example:" + std::to_string(port) + "/"},
      "/dev/null", path("curl.out"));
  cap.stop();
  server.stop();
  auto events = testing::run_engine(path("cap.pcap"), {"tls"});
  std::vector<v1::Tls> ev;
  for (auto& e : events)
    if (e.has_tls() && e.tls().sni() == "curl.example") ev.push_back(e.tls());
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(std::vector<std::string>(ev[0].alpn_offered().begin(), ev[0].alpn_offered().end()),
            (std::vector<std::string>{"http/1.1"}));
  const auto ch = tshark_fields(1);
  EXPECT_EQ(ev[0].sni(), ch.at("tls.handshake.extensions_server_name"));
  EXPECT_EQ(ev[0].ja3(), ch.at("tls.handshake.ja3_full"));
}

// The same handshake seen through Tapir's own live libpcap source on lo
// (no tcpdump in between), the engine fed frame by frame as they arrive.
TEST_F(TlsLive, LivePcapSourceOnLoopback) {
  const uint16_t port = testing::free_port();
  capture::LiveOptions opt;
  opt.interface = "lo";
  opt.bpf_filter = "tcp port " + std::to_string(port);
  opt.timeout_ms = 50;
  std::string err;
  auto src = capture::open_live(opt, err);
  ASSERT_TRUE(src) << err;
  exporter::MemorySink sink;
  pipeline::EngineConfig cfg;
  cfg.analyzers = {"tls"};
  pipeline::Engine engine(cfg, sink);
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    decode::RawFrame frame;
    for (;;) {
      const auto st = src->next(frame);
      if (st == capture::ReadStatus::kFrame) {
        engine.process(frame);
      } else if (st == capture::ReadStatus::kTimeout) {
        if (stop) break;
      } else {
        break;
      }
    }
  });
  {
    Child server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                  path("cert.pem"), "-key", path("key.pem"), "-alpn", "http/1.1", "-quiet"},
                 "/dev/null", path("server.log"));
    ASSERT_TRUE(testing::wait_listening(port));
    run({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-tls1_2",
         "-servername", "live.example", "-alpn", "http/1.1"},
        "/dev/null", path("client.log"));
    // Lets the last packets be read before the source is told to stop.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  stop = true;
  src->stop();  // a blocked next() may not time out while nothing arrives
  reader.join();
  const auto stats = src->stats();
  engine.finish();
  std::vector<v1::Tls> ev;
  for (const auto& e : sink.events())
    if (e.has_tls()) ev.push_back(e.tls());
  ASSERT_EQ(ev.size(), 1u) << "frames " << stats.frames << ", drops " << stats.kernel_drops;
  EXPECT_EQ(ev[0].sni(), "live.example");
  EXPECT_EQ(ev[0].alpn(), "http/1.1");
  EXPECT_EQ(ev[0].version_name(), "TLSv1.2");
  EXPECT_EQ(ev[0].dst().port(), port);
  check_certificate(ev[0]);
}

}  // namespace
}  // namespace tapir
