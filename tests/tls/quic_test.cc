// QUIC Initial: key derivation against RFC 9001 Appendix A.1, and the A.2
// client Initial (wrapped in UDP/IPv4 by text2pcap) through Tapir's engine,
// compared with the RFC and with tshark's own decryption of the same capture.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "analyzers/quic/initial.h"
#include "corpus_util.h"
#include "live_util.h"

namespace tapir {
namespace {

std::vector<uint8_t> unhex(const std::string& s) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < s.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(s.substr(i, 2), nullptr, 16)));
  return out;
}

template <size_t N>
std::string hexa(const std::array<uint8_t, N>& a) {
  return testing::hex(std::string(a.begin(), a.end()));
}

// Work counter, not time: the ClientHello's present prefix is found by
// advancing over the CRYPTO bytes once per connection. Rescanning from offset
// 0 on every Initial (as before) looked at the whole prefix again each time:
// here eight in-order Initials filling 16000 bytes cost 72000 looks that way.
TEST(QuicInitial, CryptoPrefixIsScannedOncePerConnection) {
  using analyzers::quic::collect_crypto;
  using analyzers::quic::contiguous_prefix;
  std::vector<uint8_t> crypto;
  std::vector<bool> have;
  size_t prefix = 0;
  uint64_t visits = 0, rescan = 0;
  constexpr size_t kChunk = 2000;
  for (size_t k = 0; k < 8; ++k) {
    // One CRYPTO frame (RFC 9000 19.6) with 2-byte varints for offset and length.
    std::vector<uint8_t> frame = {0x06, static_cast<uint8_t>(0x40 | ((k * kChunk) >> 8)),
                                  static_cast<uint8_t>(k * kChunk),
                                  static_cast<uint8_t>(0x40 | (kChunk >> 8)),
                                  static_cast<uint8_t>(kChunk & 0xff)};
    frame.resize(frame.size() + kChunk, static_cast<uint8_t>(k));
    ASSERT_TRUE(collect_crypto(Bytes(frame.data(), frame.size()), crypto, have));
    prefix = contiguous_prefix(have, prefix, &visits);
    EXPECT_EQ(prefix, (k + 1) * kChunk);
    rescan += prefix;  // what a scan from offset 0 looks at
  }
  EXPECT_EQ(crypto[8 * kChunk - 1], 7);
  EXPECT_LE(visits, 8 * kChunk + 8);
  EXPECT_EQ(rescan, 72000u);
}

TEST(QuicInitial, KeysMatchRfc9001AppendixA1) {
  const auto dcid = unhex("8394c8f03e515708");
  analyzers::quic::InitialKeys c, s;
  ASSERT_TRUE(analyzers::quic::derive_initial_keys(analyzers::quic::kVersion1, dcid.data(),
                                                   dcid.size(), true, c));
  EXPECT_EQ(hexa(c.key), "1f369613dd76d5467730efcbe3b1a22d");
  EXPECT_EQ(hexa(c.iv), "fa044b2f42a3fd3b46fb255c");
  EXPECT_EQ(hexa(c.hp), "9f50449e04a0e810283a1e9933adedd2");
  ASSERT_TRUE(analyzers::quic::derive_initial_keys(analyzers::quic::kVersion1, dcid.data(),
                                                   dcid.size(), false, s));
  EXPECT_EQ(hexa(s.key), "cf3a5331653c364c88f0f379b6067e37");
  EXPECT_EQ(hexa(s.iv), "0ac1493ca1905853b0bba03e");
  EXPECT_EQ(hexa(s.hp), "c206b8d9b9f0f37644430b490eeaa314");
}

std::vector<uint8_t> rfc_packet() {
  std::ifstream in(std::string(TAPIR_SOURCE_DIR) + "/tests/tls/data/rfc9001_a2_client_initial.hex");
  std::string all, line;
  while (std::getline(in, line)) all += line;
  return unhex(all);
}

TEST(QuicInitial, DecryptsRfc9001AppendixA2) {
  const auto pkt = rfc_packet();
  ASSERT_EQ(pkt.size(), 1200u);
  analyzers::quic::InitialHeader h;
  ASSERT_TRUE(analyzers::quic::parse_initial_header(pkt.data(), pkt.size(), h));
  EXPECT_EQ(h.packet_len, 1200u);
  analyzers::quic::InitialKeys k;
  ASSERT_TRUE(analyzers::quic::derive_initial_keys(h.version, h.dcid.data(), h.dcid_len, true, k));
  std::vector<uint8_t> plain;
  ASSERT_TRUE(analyzers::quic::decrypt_initial(pkt.data(), h, k, plain));
  // RFC 9001 A.2: the payload starts with a CRYPTO frame at offset 0,
  // length 0xf1, carrying the ClientHello (type 1).
  ASSERT_GE(plain.size(), 5u);
  EXPECT_EQ(testing::hex(std::string(plain.begin(), plain.begin() + 5)), "060040f101");
  // One flipped ciphertext bit fails authentication.
  auto bad = pkt;
  bad[100] ^= 1;
  EXPECT_FALSE(analyzers::quic::decrypt_initial(bad.data(), h, k, plain));
}

TEST(QuicInitial, EngineAgreesWithTshark) {
  const auto dir = std::filesystem::temp_directory_path() / ("tapir-quic-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto pkt = rfc_packet();
  {
    std::ofstream dump(dir / "q.txt");
    for (size_t i = 0; i < pkt.size(); i += 16) {
      char off[32];
      std::snprintf(off, sizeof off, "%06zx", i);
      dump << off;
      for (size_t j = i; j < std::min(pkt.size(), i + 16); ++j) {
        char b[4];
        std::snprintf(b, sizeof b, " %02x", pkt[j]);
        dump << b;
      }
      dump << "\n";
    }
  }
  const std::string pcap = (dir / "q.pcap").string();
  ASSERT_EQ(testing::run({"text2pcap", "-q", "-4", "10.0.0.1,10.0.0.2", "-u", "50000,443",
                          (dir / "q.txt").string(), pcap}),
            0);
  std::string err;
  const auto events = testing::run_engine(pcap, {"quic"}, &err);
  EXPECT_EQ(err, "");
  std::vector<v1::Tls> ev;
  for (const auto& e : events)
    if (e.has_tls()) ev.push_back(e.tls());
  ASSERT_EQ(ev.size(), 1u);
  const v1::Tls& t = ev[0];
  EXPECT_TRUE(t.quic());
  EXPECT_EQ(t.quic_version(), 1u);
  EXPECT_EQ(t.ip_proto(), 17u);
  EXPECT_EQ(t.src().port(), 50000u);
  EXPECT_EQ(t.ja4().substr(0, 4), "q13d");

  const std::string text = testing::output_of(
      {"tshark", "-r", pcap, "-T", "fields", "-e", "tls.handshake.extensions_server_name", "-e",
       "tls.handshake.ciphersuite", "-e", "tls.handshake.ja3_full", "-e", "tls.handshake.ja3",
       "-e", "tls.handshake.extensions_alpn_str", "-e", "quic.version"},
      (dir / "tshark.out").string());
  const auto f = testing::split_str(text.substr(0, text.find('\n')), "\t");
  ASSERT_EQ(f.size(), 6u) << text;
  EXPECT_EQ(t.sni(), f[0]);
  EXPECT_EQ(t.sni(), "example.com");  // RFC 9001 A.2
  std::string ciphers;
  for (uint32_t c : t.ciphers_offered()) {
    char b[8];
    std::snprintf(b, sizeof b, "0x%04x", c);
    ciphers += (ciphers.empty() ? "" : ",") + std::string(b);
  }
  EXPECT_EQ(ciphers, f[1]);
  EXPECT_EQ(t.ja3(), f[2]);
  EXPECT_EQ(t.ja3_hash(), f[3]);
  std::string alpn;
  for (const auto& a : t.alpn_offered()) alpn += (alpn.empty() ? "" : ",") + a;
  EXPECT_EQ(alpn, f[4]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace tapir
