// HTTP/1.x analyzer: a MessageParser per direction, requests queued in order
// and paired with responses in order (pipelining), interim 1xx responses
// recorded on the transaction they precede. One v1::Http event per
// request/response pair, emitted when the response ends (or at flow end).
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "analyzers/analyzer.h"
#include "analyzers/event_util.h"
#include "analyzers/http/parser.h"
#include "common/text.h"
#include "flow/stream.h"

namespace tapir::analyzers::http {

namespace {

// Requests waiting for their response. Pipelining clients send a handful;
// beyond this many the oldest is reported without its response, so a client
// that never reads cannot grow the queue.
constexpr size_t kMaxPendingTransactions = 64;
// Text kept in an event (URI, Host, User-Agent, Referer, Content-Types,
// reason) is cut at this many bytes of escaped text (docs/analyzers.md, "Text
// from the wire"); the cut is reported as "text value cut". Zeek and Suricata
// log far less; a longer URI is an attack or a data blob, not an address.
constexpr size_t kMaxValueLen = 2048;
// Raw bytes kept per value: a little more than the text limit, so that the
// text cut (which never splits a character) decides where a value ends,
// rather than a raw cut that could leave half a UTF-8 sequence to escape.
constexpr size_t kMaxRawValueLen = kMaxValueLen + 4;
// Anomalies kept per transaction.
constexpr size_t kMaxAnomalies = 16;
// Interim responses kept per transaction.
constexpr size_t kMaxInfoStatus = 8;

bool is_http_port(uint16_t port) {
  return port == 80 || port == 8080 || port == 8000 || port == 3128;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

struct Transaction {
  TimeNs ts = 0;
  uint32_t depth = 0;
  bool has_request = false;
  std::string method, host, uri, version, user_agent, referer, request_content_type;
  uint64_t request_body_len = 0;
  uint32_t request_headers = 0;
  bool request_chunked = false;
  bool request_done = false;

  bool response_started = false;
  TimeNs response_ts = 0;
  uint32_t status = 0;
  std::string reason, response_content_type;
  uint64_t response_body_len = 0;
  uint32_t response_headers = 0;
  bool response_chunked = false;
  bool has_response = false;
  std::vector<uint32_t> info_status;
  std::vector<std::string> anomalies;

  void anomaly(std::string_view what) {
    if (anomalies.size() < kMaxAnomalies) anomalies.emplace_back(what);
  }
};

class HttpAnalyzer;

class HttpFlow : public flow::FlowAppState, public flow::StreamConsumer {
 public:
  HttpFlow(HttpAnalyzer& owner, flow::FlowRecord& f)
      : owner_(owner), flow_(f), req_handler_(*this), resp_handler_(*this),
        request_(MessageParser::Kind::kRequest, req_handler_),
        response_(MessageParser::Kind::kResponse, resp_handler_) {}

  void on_stream_data(flow::Direction dir, const uint8_t* data, size_t len, TimeNs ts) override {
    now_ = ts;
    if (switched_) return;  // 101 or CONNECT: the rest is another protocol
    if (dir == client_dir_) request_.feed(data, len);
    else response_.feed(data, len);
  }
  void on_stream_gap(flow::Direction dir, uint64_t len) override {
    if (dir == client_dir_) request_.gap(len);
    else response_.gap(len);
  }
  void on_stream_end(flow::Direction dir) override {
    if (dir == client_dir_) request_.end();
    else response_.end();
  }
  bool wants_more(flow::Direction dir) const override {
    if (switched_) return false;
    return dir == client_dir_ ? !request_.dead() : !response_.dead();
  }

  void set_client(flow::Direction d) { client_dir_ = d; }
  void finish();

 private:
  // Request side.
  struct RequestHandler : Handler {
    explicit RequestHandler(HttpFlow& f) : flow(f) {}
    void on_request_line(std::string_view method, std::string_view uri,
                         std::string_view version) override {
      flow.start_request(method, uri, version);
    }
    void on_status_line(std::string_view, uint32_t, std::string_view) override {}
    void on_header(std::string_view name, std::string_view value) override {
      Transaction* t = flow.current_request();
      if (t == nullptr) return;
      ++t->request_headers;
      if (iequals(name, "host")) flow.keep(*t, t->host, value);
      else if (iequals(name, "user-agent")) flow.keep(*t, t->user_agent, value);
      else if (iequals(name, "referer")) flow.keep(*t, t->referer, value);
      else if (iequals(name, "content-type")) flow.keep(*t, t->request_content_type, value);
    }
    void on_body(size_t len) override {
      if (Transaction* t = flow.current_request()) t->request_body_len += len;
    }
    bool on_headers_done() override {
      if (Transaction* t = flow.current_request()) t->request_chunked = flow.request_.chunked();
      return false;
    }
    void on_message_done() override {
      if (Transaction* t = flow.current_request()) t->request_done = true;
      flow.flush_answered();
    }
    void on_anomaly(std::string_view what) override {
      if (Transaction* t = flow.current_request()) t->anomaly(what);
      else flow.pending_anomaly(what);
    }
    HttpFlow& flow;
  };

  // Response side.
  struct ResponseHandler : Handler {
    explicit ResponseHandler(HttpFlow& f) : flow(f) {}
    void on_request_line(std::string_view, std::string_view, std::string_view) override {}
    void on_status_line(std::string_view /*version*/, uint32_t status,
                        std::string_view reason) override {
      flow.start_response(status, reason);
    }
    void on_header(std::string_view name, std::string_view value) override {
      Transaction* t = flow.current_response();
      if (t == nullptr) return;
      if (status_is_final) ++t->response_headers;
      if (status_is_final && iequals(name, "content-type"))
        flow.keep(*t, t->response_content_type, value);
    }
    bool on_headers_done() override {
      Transaction* t = flow.current_response();
      if (t == nullptr) return false;
      if (status_is_final) t->response_chunked = flow.response_.chunked();
      return t->method == "HEAD";
    }
    void on_body(size_t len) override {
      if (Transaction* t = flow.current_response()) t->response_body_len += len;
    }
    void on_message_done() override { flow.end_response(status_is_final); }
    void on_anomaly(std::string_view what) override {
      if (Transaction* t = flow.current_response()) t->anomaly(what);
      else flow.pending_anomaly(what);
    }
    HttpFlow& flow;
    bool status_is_final = true;
  };

  Transaction* current_request() { return req_; }
  Transaction* current_response() { return resp_; }

  void keep(Transaction& /*t*/, std::string& field, std::string_view value) {
    field.assign(value.substr(0, kMaxRawValueLen));
  }
  void pending_anomaly(std::string_view what) {
    if (pending_anomalies_.size() < kMaxAnomalies) pending_anomalies_.emplace_back(what);
  }

  void start_request(std::string_view method, std::string_view uri, std::string_view version);
  void start_response(uint32_t status, std::string_view reason);
  void end_response(bool final_status);
  void flush_answered();
  void emit(Transaction& t);

  HttpAnalyzer& owner_;
  flow::FlowRecord& flow_;
  flow::Direction client_dir_ = flow::Direction::kFromOriginator;
  RequestHandler req_handler_;
  ResponseHandler resp_handler_;
  MessageParser request_;
  MessageParser response_;
  TimeNs now_ = 0;
  uint32_t depth_ = 0;
  // Transactions in request order; the front is the one the next response answers.
  std::deque<Transaction> txns_;
  Transaction* req_ = nullptr;   // the request being parsed (in txns_)
  Transaction* resp_ = nullptr;  // the transaction the current response belongs to
  std::vector<std::string> pending_anomalies_;
  bool switched_ = false;  // 101 or CONNECT: the rest is not HTTP
};

class HttpAnalyzer : public Analyzer {
 public:
  explicit HttpAnalyzer(const AnalyzerContext& ctx) : ctx_(ctx) {}

  bool claim(const PacketView& v) override {
    if (!v.pkt.is_tcp() || v.flow == nullptr) return false;
    const bool request = looks_like_request(v.pkt.payload, v.pkt.payload_len);
    const bool by_port = is_http_port(v.pkt.src_port) || is_http_port(v.pkt.dst_port);
    // A response can be the flow's first payload: the server answered before
    // the capture saw the request or the client's handshake ACK. On any port
    // a strict status line claims it, or its bytes would be gone once a later
    // request claimed the flow.
    const bool response = (by_port && v.pkt.payload_len >= 5 &&
                           std::string_view(reinterpret_cast<const char*>(v.pkt.payload), 5) ==
                               "HTTP/") ||
                          looks_like_status_line(v.pkt.payload, v.pkt.payload_len);
    if (!request && !response) return false;
    v.flow->app_proto = "http";
    auto state = std::make_unique<HttpFlow>(*this, *v.flow);
    // The client is whoever sent the request line (or the other side of a response).
    const flow::Direction other = v.dir == flow::Direction::kFromOriginator
                                      ? flow::Direction::kFromResponder
                                      : flow::Direction::kFromOriginator;
    state->set_client(request ? v.dir : other);
    v.flow->app_state = std::move(state);
    return true;
  }
  bool wants_streams() const override { return true; }
  void on_flow_end(flow::FlowRecord& f) override {
    if (f.end_reason == flow::EndReason::kActive) return;  // the flow goes on
    if (auto* s = dynamic_cast<HttpFlow*>(f.app_state.get())) s->finish();
  }

  exporter::EventSink& sink() { return *ctx_.sink; }
  uint32_t sampling_rate() const { return ctx_.sampling_rate; }

 private:
  AnalyzerContext ctx_;
};

void HttpFlow::start_request(std::string_view method, std::string_view uri,
                             std::string_view version) {
  if (txns_.size() >= kMaxPendingTransactions) {
    Transaction& old = txns_.front();
    old.anomaly("too many requests waiting for a response");
    if (resp_ == &old) resp_ = nullptr;
    emit(old);
    txns_.pop_front();
  }
  Transaction& t = txns_.emplace_back();
  t.ts = now_;
  t.depth = ++depth_;
  t.has_request = true;
  t.method.assign(method);
  keep(t, t.uri, uri);
  t.version.assign(version);
  for (auto& a : pending_anomalies_) t.anomaly(a);
  pending_anomalies_.clear();
  req_ = &t;
}

void HttpFlow::start_response(uint32_t status, std::string_view reason) {
  resp_handler_.status_is_final = status < 100 || status >= 200 || status == 101;
  if (resp_ == nullptr) {
    // The oldest request still without a response.
    for (auto& t : txns_) {
      if (!t.has_response) {
        resp_ = &t;
        break;
      }
    }
    if (resp_ == nullptr) {
      Transaction& t = txns_.emplace_back();
      t.ts = now_;
      t.depth = ++depth_;
      t.anomaly("response without a request");
      resp_ = &t;
    }
  }
  Transaction& t = *resp_;
  if (!t.response_started) {
    t.response_started = true;
    t.response_ts = now_;
  }
  if (!resp_handler_.status_is_final) {
    if (t.info_status.size() < kMaxInfoStatus) t.info_status.push_back(status);
    return;
  }
  t.status = status;
  t.reason.assign(reason.substr(0, kMaxRawValueLen));
}

void HttpFlow::end_response(bool final_status) {
  if (resp_ == nullptr || !final_status) return;
  Transaction& t = *resp_;
  t.has_response = true;
  resp_ = nullptr;
  if (t.status == 101 || (t.method == "CONNECT" && t.status >= 200 && t.status < 300))
    switched_ = true;
  flush_answered();
}

void HttpFlow::flush_answered() {
  // Emit answered transactions from the front, in request order.
  while (!txns_.empty() && txns_.front().has_response &&
         (txns_.front().request_done || !txns_.front().has_request || switched_)) {
    if (req_ == &txns_.front()) req_ = nullptr;
    emit(txns_.front());
    txns_.pop_front();
  }
}

void HttpFlow::finish() {
  for (auto& t : txns_) emit(t);
  txns_.clear();
  req_ = nullptr;
  resp_ = nullptr;
}

void HttpFlow::emit(Transaction& t) {
  exporter::EventSink& sink = owner_.sink();
  if (!sink.wants(v1::Event::kHttp)) return;
  v1::Event* e = sink.begin();
  v1::Http& m = *e->mutable_http();
  fill_flow_header(m, flow_, t.ts, owner_.sampling_rate(),
                   client_dir_ == flow::Direction::kFromResponder);
  m.set_trans_depth(t.depth);
  // Method and version pass the parser's token and HTTP/d.d checks; the rest
  // is wire text.
  m.set_method(t.method);
  m.set_version(t.version);
  unsigned text = 0;
  text |= text::assign_escaped(t.host, *m.mutable_host(), kMaxValueLen);
  text |= text::assign_escaped(t.uri, *m.mutable_uri(), kMaxValueLen);
  text |= text::assign_escaped(t.user_agent, *m.mutable_user_agent(), kMaxValueLen);
  text |= text::assign_escaped(t.referer, *m.mutable_referer(), kMaxValueLen);
  text |= text::assign_escaped(t.request_content_type, *m.mutable_request_content_type(),
                               kMaxValueLen);
  text |= text::assign_escaped(t.response_content_type, *m.mutable_response_content_type(),
                               kMaxValueLen);
  text |= text::assign_escaped(t.reason, *m.mutable_reason(), kMaxValueLen);
  m.set_status(t.status);
  m.set_request_body_len(t.request_body_len);
  m.set_response_body_len(t.response_body_len);
  if (t.response_started && t.response_ts >= t.ts && t.has_request)
    m.set_latency_us(static_cast<uint64_t>((t.response_ts - t.ts) / kNsPerUs));
  m.set_request_headers(t.request_headers);
  m.set_response_headers(t.response_headers);
  for (uint32_t s : t.info_status) m.add_info_status(s);
  for (const auto& a : t.anomalies) m.add_anomalies(a);
  if (text & text::kEscaped) m.add_anomalies("non-text bytes escaped");
  if (text & text::kTruncated) m.add_anomalies("text value cut");
  m.set_request_chunked(t.request_chunked);
  m.set_response_chunked(t.response_chunked);
  m.set_has_response(t.has_response);
  sink.commit(e);
}

}  // namespace

TAPIR_REGISTER_ANALYZER("http", "HTTP/1.x requests and responses",
                        [](const AnalyzerContext& ctx) -> std::unique_ptr<Analyzer> {
                          return std::make_unique<HttpAnalyzer>(ctx);
                        });

}  // namespace tapir::analyzers::http
