// QUIC analyzer: decrypts the client's Initial packets (their keys derive
// from the Destination Connection ID, so any observer can), rebuilds the
// ClientHello from the CRYPTO frames and emits one v1::Tls event with
// quic=true per connection.
#include <memory>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/event_util.h"
#include "analyzers/quic/initial.h"
#include "analyzers/tls/analyzer.h"
#include "analyzers/tls/parser.h"

namespace tapir::analyzers::quic {

namespace {

// Client datagrams looked at per connection. A ClientHello fits in one to
// three Initials; after this many the connection is left alone, so a long
// QUIC transfer costs nothing after its start.
constexpr int kMaxClientDatagrams = 8;
// Packets coalesced in one datagram (RFC 9000 12.2): Initial, 0-RTT,
// Handshake and one short-header packet at most.
constexpr int kMaxCoalesced = 4;

class QuicFlow : public flow::FlowAppState {
 public:
  flow::Direction client = flow::Direction::kFromOriginator;
  int datagrams = 0;
  bool done = false;
  TimeNs first_ts = 0;
  uint32_t version = 0;
  std::vector<uint8_t> crypto;
  std::vector<bool> have;
  size_t contiguous = 0;  // crypto bytes present from offset 0 (contiguous_prefix)
  std::vector<uint8_t> plain;  // scratch, reused across packets of the flow
};

class QuicAnalyzer : public Analyzer {
 public:
  explicit QuicAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}

  bool claim(const PacketView& v) override {
    if (!v.pkt.is_udp() || v.flow == nullptr) return false;
    if (v.pkt.src_port != 443 && v.pkt.dst_port != 443) return false;
    InitialHeader h;
    if (!parse_initial_header(v.pkt.payload, v.pkt.payload_len, h)) return false;
    v.flow->app_proto = "quic";
    auto s = std::make_unique<QuicFlow>();
    s->client = v.dir;
    v.flow->app_state = std::move(s);
    return true;
  }

  void on_flow_packet(const PacketView& v) override {
    auto* s = dynamic_cast<QuicFlow*>(v.flow->app_state.get());
    if (s == nullptr || s->done || v.dir != s->client) return;
    if (++s->datagrams > kMaxClientDatagrams) {
      s->done = true;
      return;
    }
    const uint8_t* p = v.pkt.payload;
    size_t left = v.pkt.payload_len;
    for (int i = 0; i < kMaxCoalesced && left > 0; ++i) {
      InitialHeader h;
      if (!parse_initial_header(p, left, h)) break;
      InitialKeys keys;
      if (derive_initial_keys(h.version, h.dcid.data(), h.dcid_len, true, keys) &&
          decrypt_initial(p, h, keys, s->plain)) {
        if (s->first_ts == 0) s->first_ts = v.pkt.ts;
        s->version = h.version;
        collect_crypto(Bytes(s->plain.data(), s->plain.size()), s->crypto, s->have);
      }
      p += h.packet_len;
      left -= h.packet_len;
    }
    try_client_hello(*v.flow, *s);
  }

 private:
  void try_client_hello(flow::FlowRecord& f, QuicFlow& s) {
    // Holes never reopen, so the present prefix only grows: advancing it
    // looks at each offset once per connection.
    s.contiguous = contiguous_prefix(s.have, s.contiguous);
    if (s.contiguous < tls::kHandshakeHeaderLen) return;
    if (s.crypto[0] != tls::hs::kClientHello) {
      s.done = true;
      return;
    }
    const size_t len = load_be24(s.crypto.data() + 1);
    const size_t end = tls::kHandshakeHeaderLen + len;
    if (end > kMaxCryptoBytes) {
      s.done = true;
      return;
    }
    if (s.contiguous < end) return;
    tls::ClientHello ch;
    s.done = true;
    if (!tls::parse_client_hello(Bytes(s.crypto.data() + tls::kHandshakeHeaderLen, len), ch))
      return;
    if (!ctx_.sink->wants(v1::Event::kTls)) return;
    v1::Event* e = ctx_.sink->begin();
    v1::Tls& m = *e->mutable_tls();
    fill_flow_header(m, f, s.first_ts, ctx_.sampling_rate,
                     s.client == flow::Direction::kFromResponder);
    tls::fill_client_hello(m, ch, true);
    m.set_quic_version(s.version);
    ctx_.sink->commit(e);
  }

  AnalyzerContext ctx_;
};

}  // namespace

TAPIR_REGISTER_ANALYZER("quic", "QUIC Initial: version, SNI, ALPN and fingerprints of the ClientHello",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<QuicAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::quic
