// The gRPC ingest service: authenticates agents (client certificate CN, and
// optionally a bearer token), queues their batches for one store writer that
// groups batches from all streams into large transactions, and acknowledges
// each batch only after its transaction committed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "collector/metrics.h"
#include "collector/validate.h"
#include "store/store.h"

namespace grpc {
class Server;
}

namespace tapir::collector {

struct IngestOptions {
  std::string listen = "127.0.0.1:4317";  // host:port; port 0 picks a free one
  // PEM files: the collector's certificate and key, and the CA that signs
  // agent certificates. Required unless `insecure`.
  std::string cert_file, key_file, ca_file;
  // Plaintext, no client authentication; the agent id is taken from the
  // batch. For tests and trusted networks only.
  bool insecure = false;
  // When set, agents must also send `authorization: Bearer <token>`.
  std::string agent_token;
  // Most batches committed in one transaction: large enough to amortise the
  // commit (fsync), small enough to keep ack latency low under load.
  size_t max_batches_per_commit = 256;
  // Batches a single stream may have waiting for commit; the stream stops
  // reading beyond it, so gRPC flow control pushes back on the agent.
  size_t max_inflight_per_stream = 32;
  // Batch and event size limits and how much of refused data is kept.
  ValidationLimits limits;
  // How long a failing store transaction is retried (pauses of 100 ms
  // doubling to 2 s; each attempt also waits out SQLite's 10 s busy timeout)
  // before the streams of its batches are failed and their agents resend.
  std::chrono::milliseconds store_retry{30000};
};

struct Pending;
struct StreamState;

class IngestServer {
 public:
  IngestServer(store::Store& store, Metrics& metrics, IngestOptions options);
  ~IngestServer();
  IngestServer(const IngestServer&) = delete;
  IngestServer& operator=(const IngestServer&) = delete;

  bool start(std::string& error);
  // Stops accepting, drains queued batches into the store, stops the writer.
  void stop();
  int port() const { return port_; }

  // Used by the service implementation.
  void enqueue(std::unique_ptr<Pending> p);
  Metrics& metrics() { return metrics_; }
  const IngestOptions& options() const { return opt_; }

 private:
  void writer_loop();
  void count_rejects(const std::vector<std::unique_ptr<Pending>>& group, const store::InsertResult& res);
  // Inserts one group, retrying a failed transaction with backoff; the error
  // of the last attempt when it gives up, empty on success.
  std::string commit_with_retry(const std::vector<store::BatchIn>& in, store::InsertResult& res);

  store::Store& store_;
  Metrics& metrics_;
  RejectLog reject_log_;
  IngestOptions opt_;
  class Service;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;
  bool stopping_ = false;
  int port_ = 0;
};

}  // namespace tapir::collector
