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
// batch. A number is handed out only below the persisted end of the block, so
// after a crash the agent resumes there: numbers may skip but never repeat.
constexpr uint64_t kSequenceReserve = 4096;
// At stop, this share of the drain time (at most kReportReserveMax) is kept
// for the last status report, which is made once the fate of every batch is
// known.
constexpr int kReportReserveDivisor = 4;
constexpr auto kReportReserveMax = std::chrono::milliseconds(2000);
// Drops for the same reason in a row are logged once per this many.
constexpr uint64_t kLogEveryDrops = 1000;
// How often a wait for the channel to become ready checks for stop().
constexpr auto kStatePoll = std::chrono::milliseconds(100);
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

// The collector's word for a stream it ended because its store failed.
bool is_store_failure(const grpc::Status& s) {
  return s.error_message().rfind("store failed", 0) == 0;
}

// gRPC reports a TLS handshake that failed on this side with text naming the
// handshake; when the collector refused our certificate, as a connection
// that could not be set up because the collector closed it ("failed to
// connect ... Socket closed"), unlike a collector that is down ("Connection
// refused") or a stream that broke after it was set up.
bool is_tls_failure(const grpc::Status& s) {
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE || is_store_failure(s)) return false;
  const std::string& m = s.error_message();
  for (const char* needle : {"andshake", "SSL", "TLS", "ertificate"})
    if (m.find(needle) != std::string::npos) return true;
  if (m.find("failed to connect") == std::string::npos) return false;
  for (const char* needle : {"Socket closed", "reset by peer", "Broken pipe"})
    if (m.find(needle) != std::string::npos) return true;
  return false;
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
  // Numbers below this are persisted as used (spool only).
  uint64_t reserved_until = 0;
  // The spool's instance id was left for a fresh one because the counter
  // could not be persisted; it is not switched back within this run.
  bool fresh_instance = false;
  ExporterStats st;
  bool stopping = false;
  bool need_report = true;
  grpc::ClientContext* ctx = nullptr;
  std::thread thread;
  std::mt19937_64 rng{std::random_device{}()};

  // Numbers the batch and queues it; its sequence (0: empty, not queued).
  uint64_t enqueue(OwnedBatch b) {
    auto events = static_cast<uint32_t>(b.batch->events_size());
    if (events == 0) return 0;
    uint64_t bytes = b.arena->SpaceUsed();
    std::lock_guard lk(mu);
    uint64_t seq = take_sequence_locked();
    b.batch->set_agent_id(cfg.agent_id);
    b.batch->set_sequence(seq);
    b.batch->set_instance_id(instance);
    ++st.batches_submitted;
    st.events_submitted += events;
    backlog.push_back({seq, events, std::make_shared<OwnedBatch>(std::move(b)), bytes});
    ++mem_batches;
    mem_bytes += bytes;
    enforce_locked(cfg.queue_batches, cfg.queue_bytes);
    cv.notify_all();
    return seq;
  }

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
        // The batch that could not be spooled may be on the wire, and then
        // the collector may yet store it: the drop falls on a batch that is
        // not (the oldest such, or the newest by policy).
        size_t victim = cfg.drop_policy == DropPolicy::kOldest ? std::max(i, sent)
                                                               : backlog.size() - 1;
        if (victim >= backlog.size() || victim < sent) {
          // Every in-memory batch is on the wire (a bound of 0 at stop while
          // the stream runs): they stay until acknowledged or the stream ends.
          break;
        }
        // A full disk fails every write: the first and then every 1000th are logged.
        if (st.dropped_batches_spool_error % kLogEveryDrops == 0)
          std::fprintf(stderr, "tapir-agent: spool write failed, batch %llu dropped (%llu so "
                       "far): %s\n", static_cast<unsigned long long>(backlog[victim].seq),
                       static_cast<unsigned long long>(st.dropped_batches_spool_error + 1),
                       err.c_str());
        count_drop(backlog[victim], st.dropped_batches_spool_error, st.dropped_events_spool_error);
        forget_locked(victim);
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
    if (spool && next_seq >= reserved_until) reserve_locked();
    return next_seq++;
  }

  // Persists the end of the next block of sequence numbers. When that fails
  // (the spool's filesystem is full, a read-only remount ...) the numbers from
  // next_seq on are not durable: after a restart the spool's instance would
  // count from the old value again and the collector would take the new
  // batches for resends. So new batches move to a fresh random instance id,
  // which nobody will ever number in again, and keep flowing to the collector.
  void reserve_locked() {
    uint64_t want = next_seq + kSequenceReserve;
    std::string err;
    if (spool->store_next_sequence(want, err)) {
      reserved_until = want;
      return;
    }
    ++st.sequence_write_failures;
    reserved_until = want;  // tried again one block later
    st.last_error = "spool: cannot persist the sequence counter: " + err;
    if (fresh_instance) {
      std::fprintf(stderr, "tapir-agent: cannot persist the sequence counter: %s (still on "
                   "instance %s)\n", err.c_str(), instance.c_str());
      return;
    }
    std::string old = instance;
    start_fresh_instance_locked();
    std::fprintf(stderr, "tapir-agent: cannot persist the sequence counter: %s; batches from "
                 "sequence %llu on use the fresh instance id %s instead of %s, so no sequence "
                 "is ever reused\n", err.c_str(), static_cast<unsigned long long>(next_seq),
                 instance.c_str(), old.c_str());
  }

  void start_fresh_instance_locked() {
    std::string id;
    do id = random_instance_id(); while (id == instance);
    instance = id;
    fresh_instance = true;
    ++st.instance_changes;
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
    std::string collector_error;  // from the collector's last ack
    std::thread reader([&] {
      v1::ExportAck ack;
      while (stream->Read(&ack)) {
        std::lock_guard lk(mu);
        on_ack(ack, first_ack);
        acked = true;
        if (!ack.error().empty()) collector_error = ack.error();
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
    if (!collector_error.empty()) {
      // The collector said why it ended the stream (it cancels it after).
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, collector_error);
    }
    if (!status.ok()) {
      std::string msg = std::string(code_name(status.error_code())) + ": " + status.error_message();
      bool tls = !acked && !cfg.transport.insecure && is_tls_failure(status);
      {
        std::lock_guard lk(mu);
        if (is_store_failure(status)) ++st.store_failures;
        if (tls) ++st.tls_failures;
      }
      // Say what to check when the handshake itself failed (never for a
      // collector that answered, e.g. with a store failure).
      if (tls)
        msg += " (TLS was refused: tls.cert must be signed by the CA the collector trusts and be "
               "unexpired, tls.ca must have signed the collector's certificate, and the "
               "collector name must be in its certificate)";
      log_failure(msg);
    }
    else
      log_failure("stream closed by the collector");
    return acked;
  }

  // Waits `wait` before the next stream, or less: when the channel was not
  // connected, the wait ends as soon as gRPC's own reconnection (bounded by
  // the same backoff) makes it ready. False when stop() was called.
  bool pause_before_retry(std::chrono::milliseconds wait) {
    auto end = std::chrono::steady_clock::now() + wait;
    auto state = channel->GetState(true);
    bool wait_for_ready = state != GRPC_CHANNEL_READY;
    for (;;) {
      {
        std::lock_guard lk(mu);
        if (stopping) return false;
      }
      auto now = std::chrono::steady_clock::now();
      if (now >= end) return true;
      if (wait_for_ready && state == GRPC_CHANNEL_READY) return true;
      auto until = std::min(end, now + kStatePoll);
      if (wait_for_ready) {
        channel->WaitForStateChange(state, std::chrono::system_clock::now() + (until - now));
        state = channel->GetState(true);
      } else {
        std::unique_lock lk(mu);
        cv.wait_until(lk, until, [&] { return stopping; });
      }
    }
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
      // Jitter spreads the reconnections of many agents after a collector restart.
      std::uniform_real_distribution<double> jitter(0.75, 1.25);
      auto wait = std::chrono::milliseconds(
          static_cast<int64_t>(static_cast<double>(backoff.count()) * jitter(rng)));
      if (!pause_before_retry(wait)) return;
      backoff = std::min(backoff * 2, cfg.backoff_max);
    }
  }

  // Decides, before the last report, what happens to every batch that is
  // still unacknowledged: with a spool the in-memory ones go there (drops by
  // policy are counted), without one those not on the wire are dropped.
  void settle_locked() {
    if (spool) {
      enforce_locked(0, 0);
      return;
    }
    while (backlog.size() > sent) {
      count_drop(backlog.back(), st.dropped_batches_shutdown, st.dropped_events_shutdown);
      forget_locked(backlog.size() - 1);
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
  // gRPC's reconnection of the channel: the first retry after
  // backoff_initial, growing to backoff_max (gRPC adds +-20 % jitter).
  // MIN_RECONNECT_BACKOFF is gRPC's minimum connect timeout: how long one
  // attempt (TCP and TLS handshake) may take, not a pause between attempts.
  // Re-resolving the collector's name after a failure is allowed as often as
  // the backoff, not only every 30 s (gRPC's default), which held a
  // reconnection back for half a minute after a collector restart.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, static_cast<int>(config.backoff_initial.count()));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, static_cast<int>(config.backoff_max.count()));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(config.connect_timeout.count()));
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS,
              static_cast<int>(config.backoff_max.count()));
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
    m.next_seq = m.spool->load_next_sequence();
    if (m.instance.empty()) {
      // A new spool on a full filesystem: no instance id can be kept. Batches
      // are numbered in a fresh one that lives as long as this process.
      std::fprintf(stderr, "tapir-agent: warning: spool.dir: %s; using a fresh instance id\n",
                   err.c_str());
      ++m.st.sequence_write_failures;
      m.start_fresh_instance_locked();
      m.reserved_until = m.next_seq;
    } else {
      m.reserve_locked();
    }
    err.clear();
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

void Exporter::submit(OwnedBatch b) { impl_->enqueue(std::move(b)); }

void Exporter::stop(std::chrono::milliseconds drain) {
  Impl& m = *impl_;
  bool running = m.thread.joinable();
  if (running && drain.count() > 0) {
    auto deadline = std::chrono::steady_clock::now() + drain;
    auto reserve = std::min(drain / kReportReserveDivisor,
                            std::chrono::milliseconds(kReportReserveMax));
    {
      std::unique_lock lk(m.mu);
      m.cv.wait_until(lk, deadline - reserve, [&] { return m.backlog.empty(); });
      m.settle_locked();
    }
    // Made now, so its counters include the drops settle_locked() just made.
    uint64_t report_seq = m.reporter ? m.enqueue(m.make_report()) : 0;
    if (report_seq) {
      std::unique_lock lk(m.mu);
      m.cv.wait_until(lk, deadline, [&] {
        return m.backlog.empty() || m.st.acked_sequence >= report_seq;
      });
    }
  }
  {
    std::lock_guard lk(m.mu);
    m.stopping = true;
    if (m.ctx) m.ctx->TryCancel();
    m.cv.notify_all();
  }
  if (running) m.thread.join();
  std::lock_guard lk(m.mu);
  if (m.spool) {
    m.enforce_locked(0, 0);
    std::string err;
    if (!m.spool->store_next_sequence(m.next_seq, err)) {
      ++m.st.sequence_write_failures;
      std::fprintf(stderr, "tapir-agent: cannot persist the sequence counter: %s\n", err.c_str());
    }
  } else {
    for (const auto& e : m.backlog) m.count_drop(e, m.st.dropped_batches_shutdown,
                                                 m.st.dropped_events_shutdown);
    m.backlog.clear();
    m.sent = 0;
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
  s.instance_id = m.instance;
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
