#include "collector/ingest.h"

#include <grpc/support/log.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/method_handler.h>
#include <strings.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "collector/validate.h"
#include "common/time.h"
#include "tapir/v1/collector.grpc.pb.h"

namespace tapir::collector {

// Per stream: what has been committed and must be acknowledged.
struct StreamState {
  std::mutex mu;
  std::condition_variable cv;
  size_t inflight = 0;
  uint64_t committed = 0;   // highest sequence committed (or found duplicate)
  uint64_t duplicates = 0;  // duplicates since the last ack
  bool dirty = false;       // something to acknowledge
  // Store failure: the stream ends with it, and nothing of this stream is
  // acknowledged (or written) any more, so an ack never covers a batch whose
  // transaction failed; the agent resends from its oldest unacknowledged one.
  std::string error;
};

struct Pending {
  std::string agent_id;
  v1::EventBatch batch;
  std::shared_ptr<StreamState> stream;
  // What validation refused (see collector/validate.h), stored with the batch.
  std::vector<v1::Reject> rejects;
  std::string instance;  // de-duplication key: the batch's or its stream's instance
  bool dedup = true;     // false: no usable key (see store::BatchIn)
};

namespace {

// Batches arrive as bytes and are split by salvage_batch(): libprotobuf would
// refuse a whole batch for one bad string, and the agent would resend it forever.
std::string byte_buffer_string(const grpc::ByteBuffer& bb) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!bb.Dump(&slices).ok()) return out;
  out.reserve(bb.Length());
  for (const auto& sl : slices) out.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  return out;
}

// A failed store transaction is tried again, after a pause that doubles from
// kRetryInitial to kRetryMax, until IngestOptions::store_retry has passed
// since the first failure. Each attempt also waits out SQLite's busy timeout
// (10 s), so with the default 30 s a lock held by another process for up to
// ~30 s costs nothing but latency; beyond that the streams of the group are
// failed and their agents resend.
constexpr auto kRetryInitial = std::chrono::milliseconds(100);
constexpr auto kRetryMax = std::chrono::milliseconds(2000);

// TLS handshakes that fail never reach the service, and gRPC 1.51 has no
// hook or counter for them; it logs each one ("Handshake failed ..." from its
// TLS layer). The collector takes over gRPC's log function, prints what gRPC
// would have printed, and counts those lines. One process, one collector
// metrics object: the last IngestServer started is the one counted.
std::atomic<Metrics*> g_log_metrics{nullptr};
gpr_log_severity g_print_from = GPR_LOG_SEVERITY_ERROR;

void grpc_log(gpr_log_func_args* a) {
  if (a->severity >= GPR_LOG_SEVERITY_INFO && a->message &&
      std::strstr(a->message, "andshake failed") != nullptr) {
    if (Metrics* m = g_log_metrics.load()) ++m->tls_handshake_failures;
  }
  if (a->severity < g_print_from) return;
  const char* file = a->file ? std::strrchr(a->file, '/') : nullptr;
  std::fprintf(stderr, "tapir-collector: grpc %s %s:%d] %s\n", gpr_log_severity_string(a->severity),
               file ? file + 1 : (a->file ? a->file : "?"), a->line, a->message ? a->message : "");
}

void install_grpc_log(Metrics& m) {
  g_log_metrics = &m;
  static std::once_flag once;
  std::call_once(once, [] {
    // GRPC_VERBOSITY keeps its meaning for what is printed.
    if (const char* v = std::getenv("GRPC_VERBOSITY")) {
      if (strcasecmp(v, "DEBUG") == 0) g_print_from = GPR_LOG_SEVERITY_DEBUG;
      else if (strcasecmp(v, "INFO") == 0) g_print_from = GPR_LOG_SEVERITY_INFO;
    }
    gpr_set_log_function(grpc_log);
    // Handshake failures are logged at INFO by some gRPC releases.
    gpr_set_log_verbosity(GPR_LOG_SEVERITY_INFO);
  });
}

std::string read_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// tapir.v1.Collector with batches taken as bytes (the generated service would
// parse them, and end the stream on the first one libprotobuf refuses).
class IngestServer::Service final : public grpc::Service {
 public:
  using Stream = grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>;
  explicit Service(IngestServer& owner) : owner_(owner) {
    static const std::string method = std::string("/") + v1::Collector::service_full_name() + "/Export";
    AddMethod(new grpc::internal::RpcServiceMethod(
        method.c_str(), grpc::internal::RpcMethod::BIDI_STREAMING,
        new grpc::internal::BidiStreamingHandler<Service, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](Service* s, grpc::ServerContext* ctx, Stream* stream) { return s->Export(ctx, stream); },
            this)));
  }

  grpc::Status Export(grpc::ServerContext* ctx, Stream* stream) {
    const auto& opt = owner_.options();
    Metrics& m = owner_.metrics();
    std::string agent;
    if (!opt.insecure) {
      auto cn = ctx->auth_context()->FindPropertyValues("x509_common_name");
      if (cn.empty()) {
        ++m.auth_failures;
        return {grpc::StatusCode::UNAUTHENTICATED, "client certificate without a common name"};
      }
      agent.assign(cn[0].data(), cn[0].size());
    }
    if (!opt.agent_token.empty()) {
      auto it = ctx->client_metadata().find("authorization");
      if (it == ctx->client_metadata().end() ||
          std::string(it->second.data(), it->second.size()) != "Bearer " + opt.agent_token) {
        ++m.auth_failures;
        return {grpc::StatusCode::UNAUTHENTICATED, "missing or wrong agent token"};
      }
    }
    ++m.streams_active;
    auto st = std::make_shared<StreamState>();
    bool reading_done = false;
    std::thread acker([&] {
      std::unique_lock lock(st->mu);
      while (true) {
        st->cv.wait(lock, [&] {
          return st->dirty || !st->error.empty() || (reading_done && st->inflight == 0);
        });
        if (!st->error.empty()) {
          // The store gave up on some of this stream's batches: say so with a
          // last ack (covering only what was committed), then end the stream.
          // Cancelling is what wakes the reader when the agent, waiting for
          // acks, sends nothing more.
          v1::ExportAck ack;
          ack.set_acked_sequence(st->committed);
          ack.set_duplicates(st->duplicates);
          ack.set_error("store failed: " + st->error);
          lock.unlock();
          grpc::Slice slice(ack.SerializeAsString());
          stream->Write(grpc::ByteBuffer(&slice, 1));
          ctx->TryCancel();
          lock.lock();
          break;
        }
        if (st->dirty) {
          v1::ExportAck ack;
          ack.set_acked_sequence(st->committed);
          ack.set_duplicates(st->duplicates);
          st->duplicates = 0;
          st->dirty = false;
          lock.unlock();
          grpc::Slice slice(ack.SerializeAsString());
          bool ok = stream->Write(grpc::ByteBuffer(&slice, 1));
          lock.lock();
          if (!ok) break;
          continue;
        }
        if (reading_done && st->inflight == 0) break;
      }
    });
    grpc::Status status = grpc::Status::OK;
    auto batch = std::make_unique<Pending>();
    grpc::ByteBuffer bytes;
    // The stream's instance, for a batch cut off before its instance_id.
    std::optional<std::string> stream_instance;
    while (stream->Read(&bytes)) {
      ++m.batches_in;
      SalvagedBatch sb = salvage_batch(byte_buffer_string(bytes), static_cast<int64_t>(wall_now()), opt.limits);
      bytes.Clear();
      if (opt.insecure) {
        agent = sb.agent_id;
        if (agent.empty() || !sb.agent_id_utf8) {
          status = {grpc::StatusCode::INVALID_ARGUMENT, "batch without a UTF-8 agent_id"};
          break;
        }
      } else if (!sb.agent_id.empty() && sb.agent_id != agent) {
        ++m.auth_failures;
        status = {grpc::StatusCode::PERMISSION_DENIED,
                  "batch agent_id '" + (sb.agent_id_utf8 ? sb.agent_id.substr(0, 256) : "(not UTF-8)") +
                      "' differs from certificate '" + agent + "'"};
        break;
      }
      // The de-duplication key. A batch without a usable header is stored
      // (as one reject) without one; a batch cut off before its instance_id
      // takes its stream's, or goes without a key on a stream's first batch.
      batch->dedup = sb.header_ok;
      batch->instance = sb.instance_id;
      if (sb.header_ok && !sb.complete && !sb.instance_seen) {
        if (stream_instance) {
          batch->instance = *stream_instance;
          for (auto& r : sb.rejects) r.set_instance(*stream_instance);
          sb.valid.set_instance_id(*stream_instance);
        } else {
          batch->dedup = false;
        }
      } else if (sb.header_ok) {
        stream_instance = sb.instance_id;
      }
      batch->batch = std::move(sb.valid);
      batch->rejects = std::move(sb.rejects);
      {
        std::unique_lock lock(st->mu);
        st->cv.wait(lock, [&] { return st->inflight < opt.max_inflight_per_stream || !st->error.empty(); });
        if (!st->error.empty()) break;
        ++st->inflight;
      }
      batch->agent_id = agent;
      batch->stream = st;
      owner_.enqueue(std::move(batch));
      batch = std::make_unique<Pending>();
    }
    {
      std::unique_lock lock(st->mu);
      reading_done = true;
      st->cv.wait(lock, [&] { return st->inflight == 0; });
      st->cv.notify_all();
      if (status.ok() && !st->error.empty())
        status = {grpc::StatusCode::UNAVAILABLE, "store failed: " + st->error};
    }
    acker.join();
    --m.streams_active;
    return status;
  }

 private:
  IngestServer& owner_;
};

IngestServer::IngestServer(store::Store& store, Metrics& metrics, IngestOptions options)
    : store_(store), metrics_(metrics), opt_(std::move(options)) {}

IngestServer::~IngestServer() { stop(); }

bool IngestServer::start(std::string& error) {
  install_grpc_log(metrics_);
  std::shared_ptr<grpc::ServerCredentials> creds;
  if (opt_.insecure) {
    creds = grpc::InsecureServerCredentials();
  } else {
    if (opt_.cert_file.empty() || opt_.key_file.empty() || opt_.ca_file.empty()) {
      error = "TLS needs a certificate, a key and the agents' CA (or --insecure)";
      return false;
    }
    grpc::SslServerCredentialsOptions so(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    so.pem_root_certs = read_file(opt_.ca_file, error);
    std::string cert = read_file(opt_.cert_file, error);
    std::string key = read_file(opt_.key_file, error);
    if (!error.empty()) return false;
    so.pem_key_cert_pairs.push_back({key, cert});
    creds = grpc::SslServerCredentials(so);
  }
  service_ = std::make_unique<Service>(*this);
  grpc::ServerBuilder b;
  b.AddListeningPort(opt_.listen, creds, &port_);
  b.RegisterService(service_.get());
  // Above the batch limit, so that a batch over it is still read, kept as a
  // reject and acknowledged; only beyond this does gRPC refuse the message.
  b.SetMaxReceiveMessageSize(static_cast<int>(
      std::min<size_t>(std::max(kGrpcMaxReceiveBytes, opt_.limits.max_batch_bytes * 2), INT32_MAX)));
  server_ = b.BuildAndStart();
  if (!server_ || port_ == 0) {
    error = "cannot listen on " + opt_.listen + " (address in use, or bad certificate/key)";
    server_.reset();
    return false;
  }
  writer_ = std::thread([this] { writer_loop(); });
  return true;
}

void IngestServer::stop() {
  Metrics* mine = &metrics_;
  g_log_metrics.compare_exchange_strong(mine, nullptr);
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (server_) server_->Wait();
  server_.reset();
}

void IngestServer::enqueue(std::unique_ptr<Pending> p) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(p));
    ++metrics_.queue_depth;
  }
  cv_.notify_one();
}

// After a commit: counts and logs the rejects of the batches that were not
// duplicates (those were counted when first stored).
void IngestServer::count_rejects(const std::vector<std::unique_ptr<Pending>>& group,
                                 const store::InsertResult& res) {
  for (size_t i = 0; i < group.size(); ++i) {
    if (res.outcomes[i].duplicate || group[i]->rejects.empty()) continue;
    ++metrics_.rejected_batches;
    for (const auto& r : group[i]->rejects) {
      metrics_.count_reject(r.reason(), r.size());
      reject_log_.log(group[i]->agent_id, r);
    }
  }
}

void IngestServer::writer_loop() {
  std::vector<std::unique_ptr<Pending>> group;
  std::vector<store::BatchIn> in;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) return;
      while (!queue_.empty() && group.size() < opt_.max_batches_per_commit) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics_.queue_depth -= static_cast<int64_t>(group.size());
    }
    // Batches of a stream that already failed are neither written nor
    // acknowledged: the agent resends them on its next stream.
    std::vector<std::unique_ptr<Pending>> skipped;
    in.clear();
    for (auto& p : group) {
      bool failed;
      {
        std::lock_guard lock(p->stream->mu);
        failed = !p->stream->error.empty();
      }
      if (failed) skipped.push_back(std::move(p));
    }
    std::erase_if(group, [](const auto& p) { return !p; });
    for (auto& p : group) {
      in.push_back({p->agent_id, p->batch.sequence(), &p->batch, p->instance});
      in.back().rejects = &p->rejects;
      in.back().dedup = p->dedup;
    }
    std::string err;
    store::InsertResult res;
    if (!in.empty()) {
      err = commit_with_retry(in, res);
      if (err.empty()) count_rejects(group, res);
    }
    for (size_t i = 0; i < group.size(); ++i) {
      auto& st = *group[i]->stream;
      std::lock_guard lock(st.mu);
      if (err.empty()) {
        st.committed = std::max(st.committed, group[i]->batch.sequence());
        if (res.outcomes[i].duplicate) ++st.duplicates;
        st.dirty = true;
      } else {
        st.error = err;
      }
      --st.inflight;
      st.cv.notify_all();
    }
    for (auto& p : skipped) {
      std::lock_guard lock(p->stream->mu);
      --p->stream->inflight;
      p->stream->cv.notify_all();
    }
    group.clear();
  }
}

std::string IngestServer::commit_with_retry(const std::vector<store::BatchIn>& in,
                                            store::InsertResult& res) {
  auto first_failure = std::chrono::steady_clock::time_point{};
  auto pause = kRetryInitial;
  for (int attempt = 0;; ++attempt) {
    auto t0 = std::chrono::steady_clock::now();
    try {
      res = store_.insert(in);
      ++metrics_.commits;
      metrics_.observe_commit(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      metrics_.events_in += res.events;
      metrics_.dedup_hits += res.duplicates;
      if (attempt > 0)
        std::fprintf(stderr, "tapir-collector: store recovered after %d retr%s\n", attempt,
                     attempt == 1 ? "y" : "ies");
      return {};
    } catch (const std::exception& e) {
      auto cause = store::ErrorCause::kOther;
      if (const auto* se = dynamic_cast<const store::StoreError*>(&e)) cause = se->cause();
      metrics_.count_store_error(cause);
      auto now = std::chrono::steady_clock::now();
      if (attempt == 0) first_failure = now;
      bool give_up = now - first_failure >= opt_.store_retry;
      {
        std::unique_lock lock(mu_);
        // Stopping: the agents resend to whichever collector comes next.
        give_up = give_up || stopping_;
        std::fprintf(stderr, "tapir-collector: store error (%s): %s; %s\n", store::cause_name(cause),
                     e.what(), give_up ? "failing the streams, their agents resend" : "retrying");
        if (give_up) {
          ++metrics_.commit_give_ups;
          return e.what();
        }
        ++metrics_.commit_retries;
        cv_.wait_for(lock, pause, [&] { return stopping_; });
      }
      pause = std::min(pause * 2, std::chrono::duration_cast<std::chrono::milliseconds>(kRetryMax));
    }
  }
}

}  // namespace tapir::collector
