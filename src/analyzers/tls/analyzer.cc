#include "analyzers/tls/analyzer.h"

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/event_util.h"
#include "common/text.h"
#include "flow/stream.h"

namespace tapir::analyzers::tls {

namespace {

// A record header (5 bytes) is all content detection needs.
bool looks_like_record(const uint8_t* p, size_t len) {
  return len >= kRecordHeaderLen && p[0] >= content::kChangeCipherSpec &&
         p[0] <= content::kHeartbeat && p[1] == 3 && p[2] <= 4 &&
         load_be16(p + 3) <= kMaxRecordLen;
}

bool offers_tls13(const ClientHello& ch) {
  for (uint16_t v : ch.supported_versions)
    if (v == 0x0304 || (v >> 8) == 0x7f) return true;
  return false;
}

bool is_tls13(uint16_t v) { return v == 0x0304 || (v >> 8) == 0x7f; }

class TlsAnalyzer;

class TlsFlow : public flow::FlowAppState, public flow::StreamConsumer {
 public:
  TlsFlow(TlsAnalyzer& owner, flow::FlowRecord& f) : owner_(owner), flow_(f) {}

  void on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs ts) override;
  void on_stream_gap(flow::Direction dir, uint64_t /*len*/) override {
    streams_[flow::dir_index(dir)].gap();
    maybe_emit();
  }
  void on_stream_end(flow::Direction dir) override {
    ended_[flow::dir_index(dir)] = true;
  }
  bool wants_more(flow::Direction dir) const override {
    return !emitted_ && !streams_[flow::dir_index(dir)].done();
  }

  void finish();  // flow end: emit what we have

 private:
  void on_message(int d, const HandshakeMessage& m, TimeNs ts);
  void maybe_emit();
  void emit();

  TlsAnalyzer& owner_;
  flow::FlowRecord& flow_;
  std::array<HandshakeStream, 2> streams_;
  std::array<bool, 2> ended_{};
  int client_ = -1;  // direction index of the client, once known
  std::optional<ClientHello> ch_;
  std::optional<ServerHello> sh_;
  std::optional<ServerHello> hrr_;       // the HelloRetryRequest, if any
  std::optional<ClientHello> retry_ch_;  // the ClientHello that answered it
  TimeNs retry_ts_ = 0;
  std::array<uint8_t, 32> ch_session_id_{};
  std::optional<CertInfo> leaf_;
  uint32_t chain_len_ = 0;
  bool cert_seen_ = false;
  bool hello_retry_ = false;
  TimeNs ch_ts_ = 0;
  TimeNs sh_ts_ = 0;
  TimeNs client_next_ts_ = 0;  // first client bytes after the ServerHello
  bool emitted_ = false;
};

class TlsAnalyzer : public Analyzer {
 public:
  explicit TlsAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}

  bool claim(const PacketView& v) override {
    if (!v.pkt.is_tcp() || v.flow == nullptr) return false;
    const uint8_t* p = v.pkt.payload;
    const size_t n = v.pkt.payload_len;
    const bool by_port = is_tls_port(v.pkt.src_port) || is_tls_port(v.pkt.dst_port);
    if (!(by_port && looks_like_record(p, n)) && !looks_like_client_hello(p, n)) return false;
    v.flow->app_proto = "tls";
    v.flow->app_state = std::make_unique<TlsFlow>(*this, *v.flow);
    return true;
  }
  bool wants_streams() const override { return true; }
  void on_flow_end(flow::FlowRecord& f) override {
    if (f.end_reason == flow::EndReason::kActive) return;  // the flow goes on
    if (auto* s = dynamic_cast<TlsFlow*>(f.app_state.get())) s->finish();
  }

  exporter::EventSink& sink() { return *ctx_.sink; }
  uint32_t sampling_rate() const { return ctx_.sampling_rate; }

 private:
  AnalyzerContext ctx_;
};

void TlsFlow::on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs ts) {
  const int d = flow::dir_index(dir);
  if (sh_ && d == client_ && client_next_ts_ == 0 && !sh_->hello_retry) client_next_ts_ = ts;
  HandshakeStream& s = streams_[d];
  s.feed(data, len);
  HandshakeMessage m;
  while (!emitted_ && s.next(m)) on_message(d, m, ts);
  maybe_emit();
}

void TlsFlow::on_message(int d, const HandshakeMessage& m, TimeNs ts) {
  switch (m.type) {
    case hs::kClientHello: {
      if (ch_) {
        // A second ClientHello is legitimate only in answer to a
        // HelloRetryRequest (RFC 8446 4.1.4). It is kept beside the first,
        // which stays the connection's fingerprint as JA3/JA4 lists index it.
        if (!hrr_ || retry_ch_ || d != client_) return;
        ClientHello retry;
        if (!parse_client_hello(m.body, retry)) return;
        retry.record_version = m.record_version;
        retry_ch_ = std::move(retry);
        retry_ts_ = ts;
        return;
      }
      ClientHello ch;
      if (!parse_client_hello(m.body, ch)) return;
      ch.record_version = m.record_version;
      client_ = d;
      ch_ts_ = ts;
      if (offers_tls13(ch)) {
        streams_[0].set_ccs_ends_plaintext(false);
        streams_[1].set_ccs_ends_plaintext(false);
      }
      ByteReader r(m.body);
      Bytes sid;
      uint8_t sid_len = 0;
      if (r.skip(34) && r.u8(sid_len) && sid_len <= 32 && r.bytes(sid_len, sid))
        std::copy(sid.begin(), sid.end(), ch_session_id_.begin());
      ch_ = std::move(ch);
      return;
    }
    case hs::kServerHello: {
      ServerHello sh;
      if (!parse_server_hello(m.body, sh)) return;
      if (client_ < 0) client_ = 1 - d;
      if (sh.hello_retry) {
        hello_retry_ = true;
        if (!hrr_) hrr_ = sh;
        if (!sh_) sh_ = std::move(sh);
        return;
      }
      sh_ts_ = ts;
      sh_ = std::move(sh);
      if (is_tls13(sh_->negotiated())) {
        // Everything after the ServerHello is encrypted.
        streams_[d].set_encrypted();
      } else {
        streams_[0].set_ccs_ends_plaintext(true);
        streams_[1].set_ccs_ends_plaintext(true);
      }
      return;
    }
    case hs::kCertificate: {
      if (d == client_ || cert_seen_) return;
      cert_seen_ = true;
      std::vector<Bytes> ders;
      parse_certificate_list(m.body, ders, chain_len_);
      if (!ders.empty()) {
        CertInfo c;
        std::string err;
        if (parse_certificate(ders[0], c, err)) leaf_ = std::move(c);
      }
      return;
    }
    default:
      return;
  }
}

void TlsFlow::maybe_emit() {
  if (emitted_ || !ch_) return;
  if (client_ < 0) return;
  const HandshakeStream& c = streams_[client_];
  const HandshakeStream& s = streams_[1 - client_];
  // Done when neither side can tell us more: both encrypted (TLS 1.2 after
  // both ChangeCipherSpecs; TLS 1.3 once the client's second flight began).
  if (c.done() && s.done() && (sh_ || c.state() == HandshakeStream::State::kNotTls)) emit();
}

void TlsFlow::finish() {
  if (emitted_) return;
  if (ch_ || sh_) emit();
}

void TlsFlow::emit() {
  emitted_ = true;
  exporter::EventSink& sink = owner_.sink();
  if (!sink.wants(v1::Event::kTls)) return;
  v1::Event* e = sink.begin();
  v1::Tls& m = *e->mutable_tls();
  const bool reverse = client_ == flow::dir_index(flow::Direction::kFromResponder);
  fill_flow_header(m, flow_, ch_ ? ch_ts_ : sh_ts_, owner_.sampling_rate(), reverse);
  if (ch_) fill_client_hello(m, *ch_, false);
  if (sh_) {
    fill_server_hello(m, *sh_);
    if (is_tls13(sh_->negotiated())) {
      m.set_resumed(sh_->psk);
    } else {
      const bool same_id = sh_->session_id_len > 0 && ch_ &&
                           sh_->session_id_len == ch_->session_id_len &&
                           sh_->session_id == ch_session_id_;
      // An abbreviated handshake: the server's ChangeCipherSpec came with no Certificate.
      const bool abbreviated = !cert_seen_ && client_ >= 0 &&
                               streams_[1 - client_].saw_change_cipher_spec();
      m.set_resumed(same_id || abbreviated);
    }
  }
  m.set_hello_retry(hello_retry_);
  if (hrr_) fill_hello_retry(m, *hrr_);
  if (retry_ch_) {
    set_timestamp(m.mutable_retry_ts(), retry_ts_);
    fill_retry_client_hello(m, *retry_ch_);
  }
  if (leaf_) fill_certificate(m, *leaf_, chain_len_);
  else if (cert_seen_) m.set_cert_chain_len(chain_len_);
  if (client_next_ts_ > ch_ts_ && ch_)
    m.set_rtt_us(static_cast<uint64_t>((client_next_ts_ - ch_ts_) / kNsPerUs));
  for (int d = 0; d < 2; ++d)
    for (uint16_t a : streams_[d].alerts()) m.add_alerts(a);
  sink.commit(e);
}

}  // namespace

bool is_tls_port(uint16_t port) {
  switch (port) {
    case 443: case 465: case 853: case 993: case 995: case 8443:
      return true;
    default:
      return false;
  }
}

namespace {

void note_anomaly(v1::Tls& m, v1::TlsAnomaly a) {
  for (int x : m.anomalies())
    if (x == a) return;
  m.add_anomalies(a);
}

void note_text(v1::Tls& m, unsigned outcome) {
  if (outcome & text::kEscaped) note_anomaly(m, v1::TLS_TEXT_ESCAPED);
  if (outcome & text::kTruncated) note_anomaly(m, v1::TLS_TEXT_CUT);
}

}  // namespace

void fill_client_hello(v1::Tls& m, const ClientHello& ch, bool quic) {
  m.set_record_version(ch.record_version);
  m.set_client_version(ch.version);
  unsigned text = text::assign_escaped(ch.sni, *m.mutable_sni(), kMaxNameText);
  for (const auto& a : ch.alpn) text |= text::assign_escaped(a, *m.add_alpn_offered(), kMaxNameText);
  note_text(m, text);
  for (uint16_t c : ch.ciphers) m.add_ciphers_offered(c);
  for (uint16_t x : ch.extensions) m.add_client_extensions(x);
  for (uint16_t g : ch.groups) m.add_supported_groups(g);
  for (uint16_t s : ch.signature_algorithms) m.add_signature_algorithms(s);
  for (uint16_t k : ch.key_share_groups) m.add_key_share_groups(k);
  for (uint16_t v : ch.supported_versions) m.add_supported_versions(v);
  m.set_ech(ch.ech);
  m.set_resumption_offered(ch.session_ticket || ch.psk ||
                           (ch.session_id_len > 0 && !offers_tls13(ch)));
  m.set_session_id_len(ch.session_id_len);
  const std::string ja3 = ja3_string(ch);
  m.set_ja3(ja3);
  m.set_ja3_hash(md5_hex(ja3));
  m.set_ja4(ja4(ch, quic));
  m.set_quic(quic);
}

void fill_server_hello(v1::Tls& m, const ServerHello& sh) {
  const uint16_t v = sh.negotiated();
  m.set_version(v);
  m.set_version_name(version_name(v));
  m.set_cipher(sh.cipher);
  for (uint16_t x : sh.extensions) m.add_server_extensions(x);
  note_text(m, text::assign_escaped(sh.alpn, *m.mutable_alpn(), kMaxNameText));
  const std::string ja3s = ja3s_string(sh);
  m.set_ja3s(ja3s);
  m.set_ja3s_hash(md5_hex(ja3s));
}

void fill_hello_retry(v1::Tls& m, const ServerHello& hrr) {
  m.set_hello_retry_group(hrr.key_share_group);
  const std::string ja3s = ja3s_string(hrr);
  m.set_hello_retry_ja3s(ja3s);
  m.set_hello_retry_ja3s_hash(md5_hex(ja3s));
}

void fill_retry_client_hello(v1::Tls& m, const ClientHello& ch) {
  for (uint16_t x : ch.extensions) m.add_retry_client_extensions(x);
  for (uint16_t k : ch.key_share_groups) m.add_retry_key_share_groups(k);
  const std::string ja3 = ja3_string(ch);
  m.set_retry_ja3(ja3);
  m.set_retry_ja3_hash(md5_hex(ja3));
  m.set_retry_ja4(ja4(ch, false));
}

void fill_certificate(v1::Tls& m, const CertInfo& c, uint32_t chain_len) {
  // RFC 4514 text from OpenSSL keeps its own escapes (as Zeek and Suricata
  // print names); bytes that are not text become its \XX form.
  unsigned text = text::assign_escaped_dn(c.subject, *m.mutable_cert_subject(), kMaxDnText);
  text |= text::assign_escaped_dn(c.issuer, *m.mutable_cert_issuer(), kMaxDnText);
  // Hex digits from OpenSSL; bounded all the same (RFC 5280: 20 octets).
  text |= text::assign_escaped(c.serial, *m.mutable_cert_serial(), kMaxNameText);
  m.mutable_cert_not_before()->set_seconds(c.not_before);
  m.mutable_cert_not_after()->set_seconds(c.not_after);
  for (const auto& s : c.sans) text |= text::assign_escaped(s, *m.add_cert_san(), kMaxNameText);
  note_text(m, text);
  m.set_cert_key_type(c.key_type);
  m.set_cert_key_bits(c.key_bits);
  m.set_cert_sha256(c.sha256);
  m.set_cert_sha1(c.sha1);
  m.set_cert_chain_len(chain_len);
}

TAPIR_REGISTER_ANALYZER("tls", "TLS handshakes: versions, SNI, ALPN, ciphers, JA3/JA4, certificates",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<TlsAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::tls
