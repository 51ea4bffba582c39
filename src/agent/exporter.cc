#include "agent/exporter.h"

#include <grpcpp/grpcpp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/time.h>

#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "common/text.h"
#include "tapir/v1/collector.grpc.pb.h"

namespace tapir::agent {
namespace {

// Sequence numbers are persisted in blocks: one fsync per block instead of per
// batch. After a crash the agent resumes at the end of the reserved block, so
// numbers may skip but never repeat.
constexpr uint64_t kSequenceReserve = 4096;
// Arena blocks for a batch: a typical batch of a few hundred events fits in
// the first few blocks.
constexpr size_t kArenaStartBlock = 16 * 1024;
constexpr size_t kArenaMaxBlock = 1024 * 1024;

int64_t now_us() {
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    default: return "ERROR";
  }
}

// Checks that the certificate and key files are PEM, belong together, and
// warns about an expired certificate (the collector will refuse it; the
// attempt is still made so both sides log the reason).
bool check_identity(const std::string& cert_pem, const std::string& key_pem,
                    const TransportConfig& t, std::string& err) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  if (!cert) {
    err = "tls.cert: " + t.cert_file + " holds no PEM certificate";
    return false;
  }
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  bool ok = true;
  if (!key) {
    err = "tls.key: " + t.key_file + " holds no PEM private key";
    ok = false;
  } else if (X509_check_private_key(cert, key) != 1) {
    err = "tls.key: " + t.key_file + " does not match the certificate in " + t.cert_file;
    ok = false;
  }
  if (ok && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    std::fprintf(stderr, "tapir-agent: warning: certificate %s has expired; the collector "
                 "will refuse it\n", t.cert_file.c_str());
  EVP_PKEY_free(key);
  X509_free(cert);
  return ok;
}

struct Entry {
  uint64_t seq = 0;
  uint32_t events = 0;
  std::shared_ptr<OwnedBatch> mem;  // null once moved to the spool
  uint64_t mem_bytes = 0;
};

}  // namespace

bool read_text_file(const std::string& path, std::string& out, std::string& err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    err = path + ": cannot open";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = std::move(ss).str();
  return true;
}

OwnedBatch OwnedBatch::make() {
  google::protobuf::ArenaOptions opts;
  opts.start_block_size = kArenaStartBlock;
  opts.max_block_size = kArenaMaxBlock;
  OwnedBatch b;
  b.arena = std::make_unique<google::protobuf::Arena>(opts);
  b.batch = google::protobuf::Arena::CreateMessage<v1::EventBatch>(b.arena.get());
  return b;
}

struct Exporter::Impl {
  ExporterConfig cfg;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Collector::Stub> stub;
  std::unique_ptr<Spool> spool;
  std::function<void(v1::Agent&)> reporter;

  mutable std::mutex mu;
  std::condition_variable cv;
  // Unacknowledged batches in sequence order: spooled ones form a prefix
  // (`disk_count` entries), in-memory ones the rest. The first `sent` entries
  // have been written to the current stream.
  std::deque<Entry> backlog;
  size_t disk_count = 0;
  size_t sent = 0;
  uint64_t mem_batches = 0;
  uint64_t mem_bytes = 0;
  uint64_t next_seq = 1;
  std::string instance;  // EventBatch.instance_id: this sequence space
  uint64_t reserved_until = 0;
  ExporterStats st;
  bool stopping = false;
  bool need_report = true;
  grpc::ClientContext* ctx = nullptr;
  std::thread thread;
  std::mt19937_64 rng{std::random_device{}()};

  void count_drop(const Entry& e, uint64_t& batches, uint64_t& events) {
    ++batches;
    events += e.events;
  }

  void forget_locked(size_t i) {
    Entry& e = backlog[i];
    if (e.mem) {
      --mem_batches;
      mem_bytes -= e.mem_bytes;
    } else {
      spool->remove(e.seq);
      --disk_count;
    }
    backlog.erase(backlog.begin() + static_cast<std::ptrdiff_t>(i));
    if (i < sent) --sent;
  }

  // Moves the oldest in-memory batches to the spool (or drops by policy) until
  // memory is within `max_batches` / `max_bytes`.
  void enforce_locked(uint64_t max_batches, uint64_t max_bytes) {
    while (mem_batches > max_batches || mem_bytes > max_bytes) {
      if (!spool) {
        // No spool: the in-memory queue is the only buffer.
        size_t victim = cfg.drop_policy == DropPolicy::kOldest
                            ? std::max(disk_count, sent)
                            : backlog.size() - 1;
        if (victim >= backlog.size()) victim = backlog.size() - 1;
        count_drop(backlog[victim], st.dropped_batches_queue_full, st.dropped_events_queue_full);
        forget_locked(victim);
        continue;
      }
      size_t i = disk_count;  // oldest in-memory batch
      std::string payload;
      backlog[i].mem->batch->SerializeToString(&payload);
      uint64_t size = Spool::file_size(payload.size());
      bool dropped_self = false;
      while (spool->would_overflow(size)) {
        size_t victim;
        if (cfg.drop_policy == DropPolicy::kOldest && sent < disk_count && !spool->files().empty()) {
          victim = sent;  // oldest spooled batch that is not on the wire
        } else {
          victim = backlog.size() - 1;  // the newest batch
        }
        count_drop(backlog[victim], st.dropped_batches_spool_full, st.dropped_events_spool_full);
        dropped_self = victim == i;
        forget_locked(victim);
        if (dropped_self) break;
        if (victim < i) --i;
        if (mem_batches <= max_batches && mem_bytes <= max_bytes) break;  // room in memory again
        if (spool->files().empty()) break;
      }
      if (dropped_self) continue;
      if (mem_batches <= max_batches && mem_bytes <= max_bytes) break;  // a drop made room
      Entry& e = backlog[i];
      std::string err;
      if (!spool->write(e.seq, e.events, payload, err)) {
        st.last_error = "spool: " + err;
        std::fprintf(stderr, "tapir-agent: spool write failed, batch %llu dropped: %s\n",
                     static_cast<unsigned long long>(e.seq), err.c_str());
        count_drop(e, st.dropped_batches_spool_error, st.dropped_events_spool_error);
        forget_locked(i);
        continue;
      }
      ++st.batches_spooled;
      st.events_spooled += e.events;
      --mem_batches;
      mem_bytes -= e.mem_bytes;
      e.mem.reset();
      ++disk_count;
    }
  }

  uint64_t take_sequence_locked() {
    uint64_t seq = next_seq++;
    if (spool && next_seq > reserved_until) {
      reserved_until = next_seq + kSequenceReserve;
      std::string err;
      if (!spool->store_next_sequence(reserved_until, err))
        std::fprintf(stderr, "tapir-agent: cannot persist the sequence counter: %s\n",
                     err.c_str());
    }
    return seq;
  }

  void on_ack(const v1::ExportAck& ack, bool& first) {
    st.duplicates += ack.duplicates();
    uint64_t n = ack.acked_sequence();
    if (n > st.acked_sequence) st.acked_sequence = n;
    while (!backlog.empty() && backlog.front().seq <= n) {
      ++st.batches_acked;
      st.events_acked += backlog.front().events;
      forget_locked(0);
    }
    if (first) {
      first = false;
      ++st.connects;
      st.connected = true;
      st.last_error.clear();
    }
  }

  OwnedBatch make_report() {
    OwnedBatch b = OwnedBatch::make();
    v1::Agent* a = b.batch->add_events()->mutable_agent();
    if (reporter) reporter(*a);
    escape_report_text(*a);
    int64_t us = now_us();
    a->mutable_ts()->set_seconds(us / 1000000);
    a->mutable_ts()->set_nanos(static_cast<int32_t>(us % 1000000) * 1000);
    a->set_agent_id(cfg.agent_id);
    return b;
  }

  void log_failure(const std::string& msg) {
    std::lock_guard lk(mu);
    if (msg != st.last_error)
      std::fprintf(stderr, "tapir-agent: collector %s: %s\n", cfg.transport.collector.c_str(),
                   msg.c_str());
    st.last_error = msg;
  }

  // One stream; returns whether the collector acknowledged anything.
  bool stream_once(Exporter& self) {
    grpc::ClientContext context;
    if (!cfg.transport.token.empty())
      context.AddMetadata("authorization", "Bearer " + cfg.transport.token);
    bool report = false;
    {
      std::lock_guard lk(mu);
      if (stopping) return false;
      ctx = &context;
      sent = 0;
      report = need_report;
      need_report = false;
    }
    if (report && reporter) self.submit(make_report());
    auto stream = stub->Export(&context);
    bool broken = false;
    bool first_ack = true;
    bool acked = false;
    std::thread reader([&] {
      v1::ExportAck ack;
      while (stream->Read(&ack)) {
        std::lock_guard lk(mu);
        on_ack(ack, first_ack);
        acked = true;
        cv.notify_all();
      }
      std::lock_guard lk(mu);
      broken = true;
      cv.notify_all();
    });
    auto next_report = std::chrono::steady_clock::now() + cfg.report_interval;
    v1::EventBatch disk_batch;
    for (;;) {
      std::shared_ptr<OwnedBatch> mem;
      uint32_t events = 0;
      bool periodic = false;
      {
        std::unique_lock lk(mu);
        auto ready = [&] {
          return stopping || broken || (sent < backlog.size() && sent < cfg.max_in_flight);
        };
        if (cfg.report_interval.count() > 0 && reporter) {
          if (!cv.wait_until(lk, next_report, ready)) periodic = true;
        } else {
          cv.wait(lk, ready);
        }
        if (stopping || broken) break;
        if (!periodic) {
          Entry& e = backlog[sent];
          events = e.events;
          mem = e.mem;
          if (!mem) {
            std::string payload, err;
            if (!spool->read(e.seq, payload, err) || !disk_batch.ParseFromString(payload)) {
              std::fprintf(stderr, "tapir-agent: spooled batch %llu unreadable, dropped: %s\n",
                           static_cast<unsigned long long>(e.seq),
                           err.empty() ? "not a protobuf EventBatch" : err.c_str());
              count_drop(e, st.dropped_batches_spool_error, st.dropped_events_spool_error);
              forget_locked(sent);
              continue;
            }
          }
          ++sent;
        }
      }
      if (periodic) {
        next_report = std::chrono::steady_clock::now() + cfg.report_interval;
        self.submit(make_report());
        continue;
      }
      if (!stream->Write(mem ? *mem->batch : disk_batch)) break;
      std::lock_guard lk(mu);
      ++st.batches_sent;
      st.events_sent += events;
    }
    {
      std::lock_guard lk(mu);
      if (stopping) context.TryCancel();
    }
    reader.join();
    grpc::Status status = stream->Finish();
    {
      std::lock_guard lk(mu);
      ctx = nullptr;
      sent = 0;
      st.connected = false;
      ++st.stream_failures;
      if (acked) need_report = true;
      if (stopping) return acked;
    }
    if (!status.ok()) {
      std::string msg = std::string(code_name(status.error_code())) + ": " + status.error_message();
      // gRPC reports a refused handshake as a closed socket; say what to check.
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE && !cfg.transport.insecure)
        msg += " (if the collector is up, TLS was refused: tls.cert must be signed by the CA the "
               "collector trusts and be unexpired, tls.ca must have signed the collector's "
               "certificate, and the collector name must be in its certificate)";
      log_failure(msg);
    }
    else
      log_failure("stream closed by the collector");
    return acked;
  }

  void run(Exporter& self) {
    auto backoff = cfg.backoff_initial;
    bool first = true;
    for (;;) {
      {
        std::lock_guard lk(mu);
        if (stopping) return;
        if (!first) ++st.reconnects;
      }
      first = false;
      if (stream_once(self)) backoff = cfg.backoff_initial;
      std::uniform_real_distribution<double> jitter(0.5, 1.5);
      auto wait = std::chrono::milliseconds(
          static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
      std::unique_lock lk(mu);
      if (cv.wait_for(lk, wait, [&] { return stopping; })) return;
      backoff = std::min(backoff * 2, cfg.backoff_max);
    }
  }
};

Exporter::Exporter() : impl_(std::make_unique<Impl>()) {}

Exporter::~Exporter() {
  if (impl_->thread.joinable()) stop(std::chrono::milliseconds(0));
}

std::unique_ptr<Exporter> Exporter::create(const ExporterConfig& config, std::string& err) {
  std::unique_ptr<Exporter> ex(new Exporter());
  Impl& m = *ex->impl_;
  m.cfg = config;
  const TransportConfig& t = config.transport;
  if (config.agent_id.empty()) {
    err = "agent.id: empty";
    return nullptr;
  }
  // In every batch: a collector could parse none of them if it were not
  // UTF-8 (and it names the agent in logs, the store and the UI).
  if (!text::is_clean(config.agent_id) || config.agent_id.size() > kMaxReportText) {
    err = "agent.id: must be UTF-8 text without control characters or backslashes, at most " +
          std::to_string(kMaxReportText) + " bytes";
    return nullptr;
  }
  if (t.collector.empty()) {
    err = "collector.address: not set";
    return nullptr;
  }
  if (m.cfg.queue_batches == 0) m.cfg.queue_batches = 1;
  // Keeps the newest in-memory batch off the wire when the queue is full, so
  // that a drop never hits a batch the collector may already be storing.
  m.cfg.max_in_flight = std::clamp<size_t>(m.cfg.max_in_flight, 1, m.cfg.queue_batches);
  std::shared_ptr<grpc::ChannelCredentials> creds;
  grpc::ChannelArguments args;
  if (t.insecure) {
    std::fprintf(stderr, "tapir-agent: WARNING: --insecure: events and the token go to %s in "
                 "plain text, and the collector is not authenticated\n", t.collector.c_str());
    creds = grpc::InsecureChannelCredentials();
  } else {
    if (t.ca_file.empty() || t.cert_file.empty() || t.key_file.empty()) {
      err = std::string(t.ca_file.empty() ? "tls.ca" : t.cert_file.empty() ? "tls.cert" : "tls.key") +
            ": not set (mutual TLS needs tls.ca, tls.cert and tls.key; see `tapir certs init`, "
            "or --insecure for plain text)";
      return nullptr;
    }
    grpc::SslCredentialsOptions o;
    if (!read_text_file(t.ca_file, o.pem_root_certs, err)) {
      err = "tls.ca: " + err;
      return nullptr;
    }
    if (!read_text_file(t.cert_file, o.pem_cert_chain, err)) {
      err = "tls.cert: " + err;
      return nullptr;
    }
    if (!read_text_file(t.key_file, o.pem_private_key, err)) {
      err = "tls.key: " + err;
      return nullptr;
    }
    if (o.pem_root_certs.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      err = "tls.ca: " + t.ca_file + " holds no PEM certificate";
      return nullptr;
    }
    if (!check_identity(o.pem_cert_chain, o.pem_private_key, t, err)) return nullptr;
    creds = grpc::SslCredentials(o);
    if (!t.server_name.empty()) args.SetSslTargetNameOverride(t.server_name);
  }
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(config.backoff_initial.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(config.backoff_initial.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(config.backoff_max.count()));
  m.channel = grpc::CreateCustomChannel(t.collector, creds, args);
  m.stub = v1::Collector::NewStub(m.channel);

  if (!config.spool.dir.empty()) {
    m.spool = Spool::open(config.spool, err);
    if (!m.spool) {
      err = "spool.dir: " + err;
      return nullptr;
    }
    for (const auto& f : m.spool->files()) m.backlog.push_back({f.sequence, f.events, nullptr, 0});
    m.disk_count = m.backlog.size();
    m.st.spool_corrupt_recovered = m.spool->corrupt_recovered();
    m.instance = m.spool->instance_id(err);
    if (m.instance.empty()) {
      err = "spool.dir: " + err;
      return nullptr;
    }
    m.next_seq = m.spool->load_next_sequence();
    m.reserved_until = m.next_seq + kSequenceReserve;
    if (!m.spool->store_next_sequence(m.reserved_until, err)) {
      err = "spool.dir: " + err;
      return nullptr;
    }
  } else {
    // Without a spool there is nowhere to persist the counter: start from the
    // clock in microseconds, which grows faster than any batch rate.
    m.next_seq = static_cast<uint64_t>(now_us());
    m.instance = random_instance_id();
  }
  return ex;
}

void Exporter::set_reporter(std::function<void(v1::Agent&)> reporter) {
  impl_->reporter = std::move(reporter);
}

void Exporter::start() {
  impl_->thread = std::thread([this] { impl_->run(*this); });
}

void Exporter::submit(OwnedBatch b) {
  Impl& m = *impl_;
  auto events = static_cast<uint32_t>(b.batch->events_size());
  if (events == 0) return;
  uint64_t bytes = b.arena->SpaceUsed();
  std::lock_guard lk(m.mu);
  uint64_t seq = m.take_sequence_locked();
  b.batch->set_agent_id(m.cfg.agent_id);
  b.batch->set_sequence(seq);
  b.batch->set_instance_id(m.instance);
  ++m.st.batches_submitted;
  m.st.events_submitted += events;
  m.backlog.push_back({seq, events, std::make_shared<OwnedBatch>(std::move(b)), bytes});
  ++m.mem_batches;
  m.mem_bytes += bytes;
  m.enforce_locked(m.cfg.queue_batches, m.cfg.queue_bytes);
  m.cv.notify_all();
}

void Exporter::stop(std::chrono::milliseconds drain) {
  Impl& m = *impl_;
  // A last status report with the final counters, when there is time to send it.
  if (m.thread.joinable() && drain.count() > 0 && m.reporter) submit(m.make_report());
  {
    std::unique_lock lk(m.mu);
    if (m.thread.joinable())
      m.cv.wait_for(lk, drain, [&] { return m.backlog.empty(); });
    m.stopping = true;
    if (m.ctx) m.ctx->TryCancel();
    m.cv.notify_all();
  }
  if (m.thread.joinable()) m.thread.join();
  std::lock_guard lk(m.mu);
  if (m.spool) {
    m.enforce_locked(0, 0);
    std::string err;
    if (!m.spool->store_next_sequence(m.next_seq, err))
      std::fprintf(stderr, "tapir-agent: cannot persist the sequence counter: %s\n", err.c_str());
  } else {
    for (const auto& e : m.backlog) m.count_drop(e, m.st.dropped_batches_shutdown,
                                                 m.st.dropped_events_shutdown);
    m.backlog.clear();
    m.mem_batches = 0;
    m.mem_bytes = 0;
  }
}

bool Exporter::idle() const {
  std::lock_guard lk(impl_->mu);
  return impl_->backlog.empty();
}

ExporterStats Exporter::stats() const {
  const Impl& m = *impl_;
  std::lock_guard lk(m.mu);
  ExporterStats s = m.st;
  s.queue_batches = m.mem_batches;
  s.queue_bytes = m.mem_bytes;
  s.in_flight = m.sent;
  s.next_sequence = m.next_seq;
  if (m.spool) {
    s.spool_batches = m.spool->files().size();
    s.spool_bytes = m.spool->bytes();
    s.spool_events = m.spool->events();
  }
  return s;
}

const ExporterConfig& Exporter::config() const { return impl_->cfg; }

void escape_report_text(v1::Agent& a) {
  auto fix = [](std::string* s) {
    if (s->size() <= kMaxReportText && text::is_clean(*s)) return;
    std::string t;
    text::assign_escaped(*s, t, kMaxReportText);
    *s = std::move(t);
  };
  fix(a.mutable_hostname());
  fix(a.mutable_version());
  fix(a.mutable_os());
  fix(a.mutable_arch());
  for (auto& i : *a.mutable_interfaces()) fix(&i);
  // Map keys cannot be changed in place: rebuild the map when one needs it.
  bool keys_clean = true;
  for (const auto& [k, v] : a.labels()) keys_clean &= k.size() <= kMaxReportText && text::is_clean(k);
  if (!keys_clean) {
    google::protobuf::Map<std::string, std::string> labels;
    for (const auto& [k, v] : a.labels()) {
      std::string key;
      text::assign_escaped(k, key, kMaxReportText);
      labels[key] = v;
    }
    a.mutable_labels()->swap(labels);
  }
  for (auto& [k, v] : *a.mutable_labels()) fix(&v);
}

}  // namespace tapir::agent
