#include "api/server.h"

#include <openssl/ssl.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "api/handlers.h"
#include "api/tail.h"

namespace tapir::api {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Largest request head and body accepted (the API takes only GETs).
constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kBodyLimit = 64 * 1024;
// A comment line this often keeps proxies from closing an idle tail.
constexpr auto kStreamHeartbeat = std::chrono::seconds(15);
// Refused connections being answered at once; beyond, they are just closed.
constexpr int kMaxRefusing = 256;
// How long a refused or closing connection may take to finish sending.
constexpr auto kLingerTime = std::chrono::seconds(2);
// The store is probed this often for /healthz; older than kHealthStale: 503.
constexpr auto kHealthProbe = std::chrono::seconds(1);
constexpr auto kHealthStale = std::chrono::seconds(5);

// A fixed number of threads and a bounded queue: a full queue refuses work
// instead of growing.
class WorkerPool {
 public:
  WorkerPool(int threads, size_t capacity) : threads_(std::max(1, threads)), capacity_(std::max<size_t>(1, capacity)) {}
  ~WorkerPool() { stop(); }

  void start() {
    std::lock_guard lk(mu_);
    stopping_ = false;
    for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { run(); });
  }
  bool try_submit(std::function<void()> task) {
    {
      std::lock_guard lk(mu_);
      if (stopping_ || queue_.size() >= capacity_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }
  // Lets running tasks finish; queued ones are dropped.
  void stop() {
    std::deque<std::function<void()>> dropped;
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
      dropped.swap(queue_);
    }
    cv_.notify_all();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }
  size_t queued() {
    std::lock_guard lk(mu_);
    return queue_.size();
  }
  int busy() const { return busy_.load(); }
  int threads() const { return threads_; }

 private:
  void run() {
    std::unique_lock lk(mu_);
    while (true) {
      cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      auto task = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      ++busy_;
      task();
      task = nullptr;
      --busy_;
      lk.lock();
    }
  }

  int threads_;
  size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> workers_;
  std::atomic<int> busy_{0};
  bool stopping_ = false;
};

void add_cors(std::vector<std::pair<std::string, std::string>>& h) {
  h.emplace_back("Access-Control-Allow-Origin", "*");
  h.emplace_back("Access-Control-Expose-Headers", "X-Total-Count, Content-Range");
  h.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type");
}

Response plain(int status, std::string text) {
  Response r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(text);
  return r;
}

}  // namespace

struct ApiServer::Impl {
  Impl(store::Store& s, ApiOptions o, std::function<std::string()> m)
      : store(s),
        opt(std::move(o)),
        metrics(std::move(m)),
        handlers(s, opt.require_token),
        statics(opt.static_dir),
        hub(s, TailOptions{opt.tail_poll, 500}),
        pool(opt.workers, static_cast<size_t>(std::max(1, opt.queue))) {}

  bool start(std::string& error, int& port);
  void stop();
  void accept();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  template <class Session>
  void launch(tcp::socket socket, std::string addr, std::optional<Response> refusal);
  void release(const std::string& addr);
  Response health();
  std::string metrics_text();

  store::Store& store;
  ApiOptions opt;
  std::function<std::string()> metrics;
  Handlers handlers;
  StaticFiles statics;
  TailHub hub;
  WorkerPool pool;

  // Connection accounting; sessions may end on any thread.
  std::mutex conn_mu;
  std::unordered_map<std::string, int> per_address;
  int open = 0;
  std::atomic<int> refusing{0};
  std::atomic<int> tails_open{0};
  // Token hashes being looked up in the store, with their request counts.
  std::mutex verify_mu;
  std::unordered_map<std::string, int> verifying;
  size_t verify_cap = 1;
  bool begin_verify(const std::string& hash) {
    std::lock_guard lk(verify_mu);
    auto it = verifying.find(hash);
    if (it == verifying.end()) {
      if (verifying.size() >= verify_cap) return false;
      it = verifying.emplace(hash, 0).first;
    }
    ++it->second;
    return true;
  }
  void end_verify(const std::string& hash) {
    std::lock_guard lk(verify_mu);
    auto it = verifying.find(hash);
    if (it != verifying.end() && --it->second <= 0) verifying.erase(it);
  }

  std::atomic<uint64_t> accepted_total{0}, refused_address_total{0}, refused_total_total{0},
      refused_dropped_total{0}, header_timeouts_total{0}, idle_closed_total{0}, requests_total{0},
      busy_total{0}, bad_requests_total{0}, tails_refused_total{0}, tails_slow_total{0};

  // /healthz: the last store probe, made by its own thread.
  std::mutex health_mu;
  std::condition_variable health_cv;
  bool health_stopping = false;
  bool health_ok = false;
  std::string health_error = "not probed yet";
  Clock::time_point health_at{};
  std::thread health_thread;
  void probe_store();

  std::optional<ssl::context> tls;
  // Declared last: destroyed first, with the sessions its handlers own,
  // while the accounting above still exists.
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer accept_retry{ioc};
  std::thread io_thread;
  std::atomic<bool> stopping{false};
};

namespace {

// A live tail's connection as the hub sees it: events are handed to the I/O
// thread, which writes them to the session if it still exists.
template <class Session>
class SessionSink : public TailSink {
 public:
  SessionSink(net::io_context& ioc, std::weak_ptr<Session> s) : ioc_(ioc), session_(std::move(s)) {}
  void deliver(std::shared_ptr<const std::string> events) override {
    net::post(ioc_, [w = session_, events = std::move(events)] {
      if (auto s = w.lock()) s->push_chunk(events);
    });
  }

 private:
  net::io_context& ioc_;
  std::weak_ptr<Session> session_;
};

template <bool kTls>
class Session : public std::enable_shared_from_this<Session<kTls>> {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  Session(ApiServer::Impl& srv, tcp::socket&& socket, std::string addr, std::optional<Response> refusal)
      : srv_(srv),
        stream_(make_stream(srv, std::move(socket))),
        addr_(std::move(addr)),
        refusal_(std::move(refusal)),
        timer_(srv.ioc) {}

  ~Session() {
    if (streaming_) --srv_.tails_open;
    if (refusal_ || refused_) {
      --srv_.refusing;
    } else {
      srv_.release(addr_);
    }
  }

  void run() {
    if constexpr (kTls) {
      lowest().expires_after(srv_.opt.header_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (ec) {
          if (ec == beast::error::timeout) ++self->srv_.header_timeouts_total;
          return self->close();
        }
        self->after_handshake();
      });
    } else {
      after_handshake();
    }
  }

  // Live-tail events from the hub (on the I/O thread).
  void push_chunk(const std::shared_ptr<const std::string>& events) {
    if (closed_ || !streaming_) return;
    if (out_bytes_ + events->size() > srv_.opt.tail_buffer) {
      ++srv_.tails_slow_total;
      return close();
    }
    out_bytes_ += events->size();
    out_.push_back({events, true});
    flush();
  }

 private:
  static Stream make_stream(ApiServer::Impl& srv, tcp::socket&& socket) {
    if constexpr (kTls)
      return Stream(std::move(socket), *srv.tls);
    else
      return Stream(std::move(socket));
  }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void after_handshake() {
    if (refusal_) {
      refused_ = true;
      Response r = std::move(*refusal_);
      refusal_.reset();
      keep_alive_ = false;
      return respond(std::move(r));
    }
    wait_request();
  }

  // Waits (up to the idle timeout) for the first byte of the next request.
  void wait_request() {
    if (closed_) return;
    if (buffer_.size() > 0) return read_request();
    lowest().expires_after(srv_.opt.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) {
                                if (ec == beast::error::timeout) ++self->srv_.idle_closed_total;
                                return self->close();
                              }
                              self->buffer_.commit(n);
                              self->read_request();
                            });
  }

  // The rest of the request head (and body) within the header timeout.
  void read_request() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    lowest().expires_after(srv_.opt.header_timeout);
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      // The socket is closed by the timeout already.
      ++srv_.header_timeouts_total;
      return close();
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || closed_)
      return close();
    keep_alive_ = false;
    if (ec == http::error::header_limit) return bad(431, "request header too large");
    if (ec == http::error::body_limit) return bad(413, "request body too large");
    if (ec) return bad(400, std::string("bad request: ") + ec.message());
    lowest().expires_never();
    auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    head_ = msg.method() == http::verb::head;
    Request req;
    req.method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    if (!decode_path(target.substr(0, q), req.path) || req.path.empty() || req.path[0] != '/')
      return bad(400, "bad request target");
    if (q != std::string_view::npos) req.params = parse_query_string(target.substr(q + 1));
    auto auth = msg.find(http::field::authorization);
    if (auth != msg.end()) req.authorization = std::string(auth->value());
    parser_.reset();
    dispatch(std::move(req));
  }

  void bad(int status, const std::string& why) {
    ++srv_.bad_requests_total;
    keep_alive_ = false;
    Response r;
    set_error(r, status, why);
    respond(std::move(r));
  }

  void dispatch(Request req) {
    ++srv_.requests_total;
    if (req.method == "OPTIONS") {
      Response r;
      r.status = 204;
      r.content_type.clear();
      return respond(std::move(r));
    }
    if (req.method != "GET" && req.method != "HEAD") {
      Response r;
      set_error(r, 405, "method " + req.method.substr(0, 16) + " not allowed");
      r.headers.emplace_back("Allow", "GET, HEAD, OPTIONS");
      return respond(std::move(r));
    }
    // Answered here, without the store: they stay answerable under load.
    if (req.path == "/healthz") return respond(srv_.health());
    if (req.path == "/metrics") {
      Response r = plain(200, (srv_.metrics ? srv_.metrics() : std::string()) + srv_.metrics_text());
      r.content_type = "text/plain; version=0.0.4";
      return respond(std::move(r));
    }
    if (req.path.rfind("/api/", 0) != 0) return respond(srv_.statics.get(req.path));

    bool verified = true;
    if (srv_.handlers.require_token()) {
      auto hash = TokenCache::bearer_hash(req.authorization);
      if (!hash) return respond(srv_.handlers.unauthorized());
      auto& tokens = srv_.handlers.tokens();
      if (tokens.refused(*hash)) return respond(srv_.handlers.unauthorized());
      verified = tokens.known(*hash);
      // Unknown tokens need a store lookup: a few distinct ones at a time, so
      // that made-up tokens cannot fill the queue.
      if (!verified && !srv_.begin_verify(*hash)) {
        ++srv_.busy_total;
        return respond(busy("too many requests with unverified tokens waiting"));
      }
      if (!verified) pending_hash_ = *hash;
    }
    auto self = this->shared_from_this();
    bool queued = srv_.pool.try_submit([self, req = std::move(req), verified]() mutable {
      Response r = self->srv_.handlers.handle_api(req);
      if (!verified) self->srv_.end_verify(self->pending_hash_);
      auto& ioc = self->srv_.ioc;
      // The session moves into the handler, so its last reference goes on the I/O thread.
      net::post(ioc, [self = std::move(self), r = std::move(r)]() mutable { self->respond(std::move(r)); });
    });
    if (!queued) {
      if (!verified) srv_.end_verify(pending_hash_);
      ++srv_.busy_total;
      respond(busy("server busy: all API workers occupied"));
    }
  }

  static Response busy(const std::string& why) {
    Response r;
    set_error(r, 503, why);
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }

  void respond(Response r) {
    if (closed_) return;
    if (r.tail) {
      if (srv_.tails_open.fetch_add(1) >= srv_.opt.max_streams) {
        --srv_.tails_open;
        ++srv_.tails_refused_total;
        Response b = busy("too many live tails open (limit " + std::to_string(srv_.opt.max_streams) + ")");
        return respond(std::move(b));
      }
      return start_stream(std::move(r));
    }
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), version_);
    std::vector<std::pair<std::string, std::string>> hs;
    add_cors(hs);
    for (auto& h : r.headers) hs.push_back(std::move(h));
    for (const auto& [k, v] : hs) res->insert(k, v);
    if (!r.content_type.empty()) res->set(http::field::content_type, r.content_type);
    res->keep_alive(keep_alive_);
    size_t n = r.body.size();
    if (!head_) res->body() = std::move(r.body);
    res->prepare_payload();
    if (head_) res->content_length(n);
    lowest().expires_after(srv_.opt.write_timeout);
    bool close_after = !keep_alive_;
    auto self = this->shared_from_this();
    if (head_) {
      auto sr = std::make_shared<http::response_serializer<http::string_body>>(*res);
      http::async_write_header(stream_, *sr, [self, res, sr, close_after](beast::error_code ec, size_t) {
        self->after_write(ec, close_after);
      });
    } else {
      http::async_write(stream_, *res, [self, res, close_after](beast::error_code ec, size_t) {
        self->after_write(ec, close_after);
      });
    }
  }

  void after_write(beast::error_code ec, bool close_after) {
    if (ec) return close();
    if (close_after) return linger_close();
    wait_request();
  }

  // Sends FIN, then reads whatever the client still sends until it closes
  // (or kLingerTime), so that unread input does not turn into a reset that
  // loses the answer.
  void linger_close() {
    if (closed_) return;
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    lowest().expires_after(kLingerTime);
    drain();
  }
  void drain() {
    lowest().async_read_some(net::buffer(scratch_),
                                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                                        if (ec) return self->close();
                                        self->drain();
                                      });
  }

  // ---- live tail -------------------------------------------------------------

  void start_stream(Response r) {
    streaming_ = true;
    lowest().expires_never();
    http::response<http::empty_body> res(http::status::ok, version_);
    std::vector<std::pair<std::string, std::string>> hs;
    add_cors(hs);
    for (auto& h : r.headers) hs.push_back(std::move(h));
    for (const auto& [k, v] : hs) res.insert(k, v);
    res.set(http::field::content_type, r.content_type);
    res.chunked(true);
    res.keep_alive(false);
    std::ostringstream os;
    os << res.base();
    out_.push_back({std::make_shared<const std::string>(os.str()), false});
    if (head_) {
      // The head only; nothing to follow.
      streaming_ = false;
      --srv_.tails_open;
      keep_alive_ = false;
      flush();
      return;
    }
    sink_ = std::make_shared<SessionSink<Session>>(srv_.ioc, this->weak_from_this());
    srv_.hub.attach(*r.tail, sink_);
    last_write_ = Clock::now();
    flush();
    watch_peer();
    arm_heartbeat();
  }

  // A tail's client sends nothing; a finished read means it went away.
  void watch_peer() {
    stream_.async_read_some(net::buffer(scratch_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->watch_peer();
    });
  }

  void arm_heartbeat() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->closed_) return;
      auto now = Clock::now();
      // A write that makes no progress: the reader stopped reading.
      if (self->writing_ && now - self->write_started_ > self->srv_.opt.write_timeout) {
        ++self->srv_.tails_slow_total;
        return self->close();
      }
      if (!self->writing_ && self->out_.empty() && now - self->last_write_ >= kStreamHeartbeat) {
        static const auto kBeat = std::make_shared<const std::string>(": keep-alive\n\n");
        self->push_chunk(kBeat);
      }
      self->arm_heartbeat();
    });
  }

  void flush() {
    if (writing_ || out_.empty() || closed_) return;
    writing_ = true;
    write_started_ = Clock::now();
    // Plain variables, not a structured binding: clang 14 (the fuzz build)
    // cannot capture bindings in the lambda below.
    auto text = out_.front().text;
    const bool chunk = out_.front().chunk;
    out_.pop_front();
    auto self = this->shared_from_this();
    auto done = [self, text, chunk](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (chunk) self->out_bytes_ -= text->size();
      self->last_write_ = Clock::now();
      if (ec) return self->close();
      if (!self->streaming_ && self->out_.empty()) return self->linger_close();
      self->flush();
    };
    if (chunk) {
      char head[32];
      int hn = std::snprintf(head, sizeof head, "%zx\r\n", text->size());
      chunk_head_.assign(head, static_cast<size_t>(hn));
      std::array<net::const_buffer, 3> bufs{net::buffer(chunk_head_), net::buffer(*text), net::buffer("\r\n", 2)};
      net::async_write(stream_, bufs, done);
    } else {
      net::async_write(stream_, net::buffer(*text), done);
    }
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    sink_.reset();
    timer_.cancel();
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  ApiServer::Impl& srv_;
  Stream stream_;
  std::string addr_;
  std::optional<Response> refusal_;
  bool refused_ = false;
  std::string pending_hash_;  // a token being verified by a worker
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = true;
  bool head_ = false;
  unsigned version_ = 11;
  bool closed_ = false;
  std::array<char, 1024> scratch_{};

  // Live tail.
  bool streaming_ = false;
  std::shared_ptr<TailSink> sink_;
  struct Out {
    std::shared_ptr<const std::string> text;
    bool chunk;  // chunk-encode (events) or write as is (the head)
  };
  std::deque<Out> out_;
  size_t out_bytes_ = 0;
  bool writing_ = false;
  std::string chunk_head_;
  net::steady_timer timer_;
  Clock::time_point last_write_{}, write_started_{};
};

}  // namespace

bool ApiServer::Impl::start(std::string& error, int& port) {
  if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
    tls.emplace(ssl::context::tls_server);
    beast::error_code ec;
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    tls->use_certificate_chain_file(opt.tls_cert, ec);
    if (!ec) tls->use_private_key_file(opt.tls_key, ssl::context::pem, ec);
    if (!ec && SSL_CTX_check_private_key(tls->native_handle()) != 1) ec = net::error::invalid_argument;
    if (ec) {
      error = "cannot load API certificate " + opt.tls_cert + " / key " + opt.tls_key;
      tls.reset();
      return false;
    }
  }
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(opt.host, std::to_string(opt.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    error = "cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " + ec.message();
    return false;
  }
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + opt.host + ":" + std::to_string(opt.port) + ": " + ec.message();
    acceptor.close(ec);
    return false;
  }
  port = acceptor.local_endpoint().port();
  verify_cap = static_cast<size_t>(std::max(1, opt.queue / 4));
  probe_store();
  health_thread = std::thread([this] {
    std::unique_lock lk(health_mu);
    while (!health_cv.wait_for(lk, kHealthProbe, [this] { return health_stopping; })) {
      lk.unlock();
      probe_store();
      lk.lock();
    }
  });
  hub.start();
  pool.start();
  accept();
  io_thread = std::thread([this] { ioc.run(); });
  return true;
}

void ApiServer::Impl::stop() {
  if (stopping.exchange(true)) return;
  {
    std::lock_guard lk(health_mu);
    health_stopping = true;
  }
  health_cv.notify_all();
  if (health_thread.joinable()) health_thread.join();
  net::post(ioc, [this] {
    beast::error_code ec;
    acceptor.close(ec);
  });
  hub.stop();
  pool.stop();
  ioc.stop();
  if (io_thread.joinable()) io_thread.join();
}

void ApiServer::Impl::probe_store() {
  bool ok = true;
  std::string err;
  try {
    store.has_token_hash("");
  } catch (const std::exception& e) {
    ok = false;
    err = e.what();
  }
  std::lock_guard lk(health_mu);
  health_ok = ok;
  health_error = err;
  health_at = Clock::now();
}

Response ApiServer::Impl::health() {
  std::lock_guard lk(health_mu);
  auto age = Clock::now() - health_at;
  if (health_ok && age <= kHealthStale) return plain(200, "ok\n");
  if (!health_ok) return plain(503, "store unavailable: " + health_error + "\n");
  return plain(503, "store unavailable: no answer to the health probe for " +
                        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(age).count()) + " s\n");
}

void ApiServer::Impl::accept() {
  acceptor.async_accept([this](const beast::error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void ApiServer::Impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (!acceptor.is_open()) return;
  if (ec) {
    // Out of descriptors and the like: wait a little rather than spin.
    if (ec != net::error::operation_aborted) {
      std::fprintf(stderr, "tapir-collector: API accept: %s\n", ec.message().c_str());
      accept_retry.expires_after(std::chrono::milliseconds(100));
      accept_retry.async_wait([this](const beast::error_code&) { accept(); });
    }
    return;
  }
  ++accepted_total;
  beast::error_code e2;
  auto remote = socket.remote_endpoint(e2);
  if (e2) {
    socket.close(e2);
    return accept();
  }
  socket.set_option(tcp::no_delay(true), e2);
  auto address = remote.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  std::string addr = address.to_string();
  std::optional<Response> refusal;
  {
    std::lock_guard lk(conn_mu);
    int& mine = per_address[addr];
    if (open >= opt.max_connections) {
      ++refused_total_total;
      Response r;
      set_error(r, 503, "too many connections to the API (limit " + std::to_string(opt.max_connections) + ")");
      r.headers.emplace_back("Retry-After", "5");
      refusal = std::move(r);
    } else if (mine >= opt.max_per_address) {
      ++refused_address_total;
      Response r;
      set_error(r, 429,
                "too many connections from " + addr + " (limit " + std::to_string(opt.max_per_address) + ")");
      r.headers.emplace_back("Retry-After", "5");
      refusal = std::move(r);
    } else {
      ++open;
      ++mine;
    }
    if (mine == 0) per_address.erase(addr);
  }
  if (refusal && refusing.fetch_add(1) >= kMaxRefusing) {
    --refusing;
    ++refused_dropped_total;
    socket.close(e2);
    return accept();
  }
  if (tls)
    launch<Session<true>>(std::move(socket), std::move(addr), std::move(refusal));
  else
    launch<Session<false>>(std::move(socket), std::move(addr), std::move(refusal));
  accept();
}

template <class S>
void ApiServer::Impl::launch(tcp::socket socket, std::string addr, std::optional<Response> refusal) {
  std::make_shared<S>(*this, std::move(socket), std::move(addr), std::move(refusal))->run();
}

void ApiServer::Impl::release(const std::string& addr) {
  std::lock_guard lk(conn_mu);
  --open;
  auto it = per_address.find(addr);
  if (it != per_address.end() && --it->second <= 0) per_address.erase(it);
}

std::string ApiServer::Impl::metrics_text() {
  std::string out;
  auto one = [&out](const char* name, const char* type, const char* help, const std::string& labels, uint64_t v) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + labels +
           " " + std::to_string(v) + "\n";
  };
  int open_now = 0;
  size_t addresses = 0;
  {
    std::lock_guard lk(conn_mu);
    open_now = open;
    addresses = per_address.size();
  }
  one("tapir_api_connections", "gauge", "API connections open.", "", static_cast<uint64_t>(open_now));
  one("tapir_api_client_addresses", "gauge", "Client addresses with API connections open.", "", addresses);
  one("tapir_api_connections_accepted_total", "counter", "API connections accepted.", "", accepted_total.load());
  out += "# HELP tapir_api_connections_refused_total API connections refused by a limit.\n"
         "# TYPE tapir_api_connections_refused_total counter\n"
         "tapir_api_connections_refused_total{limit=\"per_address\"} " +
         std::to_string(refused_address_total.load()) +
         "\ntapir_api_connections_refused_total{limit=\"total\"} " + std::to_string(refused_total_total.load()) +
         "\ntapir_api_connections_refused_total{limit=\"refusing\"} " +
         std::to_string(refused_dropped_total.load()) + "\n";
  one("tapir_api_header_timeouts_total", "counter",
      "Connections closed because a request head or TLS handshake was not complete in time.", "",
      header_timeouts_total.load());
  one("tapir_api_idle_closed_total", "counter", "Keep-alive connections closed after the idle timeout.", "",
      idle_closed_total.load());
  one("tapir_api_requests_total", "counter", "API requests read.", "", requests_total.load());
  one("tapir_api_bad_requests_total", "counter", "Requests that could not be parsed.", "",
      bad_requests_total.load());
  one("tapir_api_busy_total", "counter", "Requests answered 503 because the worker queue was full.", "",
      busy_total.load());
  auto& p = pool;
  one("tapir_api_queue_depth", "gauge", "Requests waiting for an API worker.", "", p.queued());
  one("tapir_api_workers_busy", "gauge", "API workers running a request.", "", static_cast<uint64_t>(p.busy()));
  one("tapir_api_tails", "gauge", "Live tails open.", "", static_cast<uint64_t>(tails_open.load()));
  one("tapir_api_tail_groups", "gauge", "Distinct live-tail queries polled (shared by their subscribers).", "",
      hub.groups());
  one("tapir_api_tail_polls_total", "counter", "Store queries made for live tails.", "", hub.polls());
  one("tapir_api_tails_refused_total", "counter", "Live tails refused by the limit.", "", tails_refused_total.load());
  one("tapir_api_tails_dropped_slow_total", "counter", "Live tails closed because the client read too slowly.", "",
      tails_slow_total.load());
  return out;
}

ApiServer::ApiServer(store::Store& store, ApiOptions options, std::function<std::string()> metrics)
    : impl_(std::make_unique<Impl>(store, std::move(options), std::move(metrics))) {}

ApiServer::~ApiServer() { stop(); }

bool ApiServer::start(std::string& error) {
  int port = 0;
  if (!impl_->start(error, port)) {
    port_ = -1;
    return false;
  }
  port_ = port;
  return true;
}

void ApiServer::stop() { impl_->stop(); }

std::string ApiServer::metrics_text() const { return impl_->metrics_text(); }

}  // namespace tapir::api
