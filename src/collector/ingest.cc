#include "collector/ingest.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

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
  std::string error;        // store failure: the stream ends with it
};

struct Pending {
  std::string agent_id;
  v1::EventBatch batch;
  std::shared_ptr<StreamState> stream;
};

namespace {

// EventBatch.instance_id is part of the de-duplication key kept per agent.
constexpr size_t kMaxInstanceIdBytes = 64;

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

class IngestServer::Service final : public v1::Collector::Service {
 public:
  explicit Service(IngestServer& owner) : owner_(owner) {}

  grpc::Status Export(grpc::ServerContext* ctx,
                      grpc::ServerReaderWriter<v1::ExportAck, v1::EventBatch>* stream) override {
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
        st->cv.wait(lock, [&] { return st->dirty || (reading_done && st->inflight == 0); });
        if (st->dirty) {
          v1::ExportAck ack;
          ack.set_acked_sequence(st->committed);
          ack.set_duplicates(st->duplicates);
          st->duplicates = 0;
          st->dirty = false;
          lock.unlock();
          bool ok = stream->Write(ack);
          lock.lock();
          if (!ok) break;
          continue;
        }
        if (reading_done && st->inflight == 0) break;
      }
    });
    grpc::Status status = grpc::Status::OK;
    auto batch = std::make_unique<Pending>();
    while (stream->Read(&batch->batch)) {
      ++m.batches_in;
      if (opt.insecure) {
        agent = batch->batch.agent_id();
        if (agent.empty()) {
          status = {grpc::StatusCode::INVALID_ARGUMENT, "batch without agent_id"};
          break;
        }
      } else if (!batch->batch.agent_id().empty() && batch->batch.agent_id() != agent) {
        ++m.auth_failures;
        status = {grpc::StatusCode::PERMISSION_DENIED,
                  "batch agent_id '" + batch->batch.agent_id() + "' differs from certificate '" +
                      agent + "'"};
        break;
      }
      if (batch->batch.sequence() == 0) {
        status = {grpc::StatusCode::INVALID_ARGUMENT, "batch sequence must start at 1"};
        break;
      }
      if (batch->batch.instance_id().size() > kMaxInstanceIdBytes) {
        status = {grpc::StatusCode::INVALID_ARGUMENT,
                  "batch instance_id longer than " + std::to_string(kMaxInstanceIdBytes) + " bytes"};
        break;
      }
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
  // Batches are large; allow up to 64 MiB per message.
  b.SetMaxReceiveMessageSize(64 << 20);
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
    in.clear();
    for (auto& p : group) in.push_back({p->agent_id, p->batch.sequence(), &p->batch, p->batch.instance_id()});
    std::string err;
    store::InsertResult res;
    auto t0 = std::chrono::steady_clock::now();
    try {
      res = store_.insert(in);
      ++metrics_.commits;
      metrics_.observe_commit(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      metrics_.events_in += res.events;
      metrics_.dedup_hits += res.duplicates;
    } catch (const std::exception& e) {
      err = e.what();
      ++metrics_.store_errors;
      std::fprintf(stderr, "tapir-collector: store error: %s\n", e.what());
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
    group.clear();
  }
}

}  // namespace tapir::collector
