// Test harness shared by the collector and API tests: a real tapir-collector
// process on loopback ports, test certificates made with the openssl CLI,
// a gRPC client that plays an agent, and the sqlite3 CLI as the oracle.
#pragma once

#include <gtest/gtest.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/files.h"
#include "support/process.h"
#include "tapir/v1/collector.grpc.pb.h"

namespace tapir::testing {

inline std::string read_text(const std::string& path) { return read_file(path); }

// sqlite3 CLI on the database file (the independent oracle); stderr included,
// so a failing statement shows its message.
inline std::string sqlite(const std::string& db, const std::string& sql) {
  std::string esc;
  for (char c : sql) esc += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return trim(sh("sqlite3 -batch '" + db + "' '" + esc + "' 2>&1"));
}

// A CA, a collector certificate for "localhost"/127.0.0.1, agent certificates
// and one signed by an unrelated CA.
struct Certs {
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string cert(const std::string& n) const { return dir + "/" + n + ".pem"; }
  std::string key(const std::string& n) const { return dir + "/" + n + ".key"; }

  // Agent certificates agent-1 ... agent-<agents> (at least 2).
  static Certs make(const std::string& dir, int agents = 2) {
    Certs c{dir};
    auto run = [&](const std::string& cmd) {
      int st = 0;
      std::string out = sh("cd '" + dir + "' && " + cmd + " 2>&1", &st);
      EXPECT_EQ(st, 0) << cmd << "\n" << out;
    };
    auto ca = [&](const std::string& name) {
      run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=" +
          name + " -keyout " + name + ".key -out " + name + ".pem");
    };
    auto leaf = [&](const std::string& name, const std::string& cn, const std::string& signer,
                    const std::string& ext) {
      run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=" + cn +
          " -keyout " + name + ".key -out " + name + ".csr");
      std::ofstream(dir + "/" + name + ".ext") << ext << "\n";
      run("openssl x509 -req -in " + name + ".csr -CA " + signer + ".pem -CAkey " + signer +
          ".key -CAcreateserial -days 2 -extfile " + name + ".ext -out " + name + ".pem");
    };
    ca("ca");
    ca("rogue-ca");
    leaf("server", "localhost", "ca",
         "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth");
    for (int i = 1; i <= std::max(agents, 2); ++i)
      leaf("agent-" + std::to_string(i), "agent-" + std::to_string(i), "ca", "extendedKeyUsage=clientAuth");
    leaf("rogue", "agent-1", "rogue-ca", "extendedKeyUsage=clientAuth");
    return c;
  }
};

// A tapir-collector child process; ports are read from its first line.
class CollectorProcess {
 public:
  CollectorProcess(std::string db, std::vector<std::string> args) : db_(std::move(db)), args_(std::move(args)) {}
  ~CollectorProcess() { stop(SIGTERM); }

  bool start() {
    out_ = db_ + ".out." + std::to_string(++starts_);
    pid_ = fork();
    if (pid_ == 0) {
      FILE* f = std::fopen(out_.c_str(), "w");
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
      std::vector<std::string> full = {TAPIR_BINARY_DIR "/apps/tapir-collector/tapir-collector",
                                       "--db", db_, "--listen", "127.0.0.1:0", "--api-listen",
                                       "127.0.0.1:0"};
      full.insert(full.end(), args_.begin(), args_.end());
      std::vector<char*> argv;
      for (auto& a : full) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 300; ++i) {
      std::string text = read_text(out_);
      auto p = text.find("ingest on port ");
      auto h = text.find("API on http");
      if (p != std::string::npos && h != std::string::npos) {
        grpc_port = std::stoi(text.substr(p + 15));
        auto colon = text.find(':', text.find("//", h) + 2);
        api_port = std::stoi(text.substr(colon + 1));
        return true;
      }
      int st;
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  void stop(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int st;
    waitpid(pid_, &st, 0);
    pid_ = -1;
  }
  std::string output() const { return read_text(out_); }
  std::string grpc_target() const { return "127.0.0.1:" + std::to_string(grpc_port); }
  std::string api_url() const { return "http://127.0.0.1:" + std::to_string(api_port); }

  int grpc_port = 0;
  int api_port = 0;

 private:
  std::string db_;
  std::vector<std::string> args_;
  std::string out_;
  pid_t pid_ = -1;
  int starts_ = 0;
};

inline std::shared_ptr<grpc::Channel> agent_channel(const std::string& target, const Certs* certs,
                                                    const std::string& who,
                                                    const std::string& ca_override = "") {
  if (!certs) return grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = read_text(ca_override.empty() ? certs->ca() : ca_override);
  if (!who.empty()) {
    o.pem_cert_chain = read_text(certs->cert(who));
    o.pem_private_key = read_text(certs->key(who));
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(o), args);
}

// Sends batches on one stream and collects the acks; returns the final
// status. `acked` is the highest acknowledged sequence.
struct SendResult {
  grpc::Status status;
  uint64_t acked = 0;
  uint64_t duplicates = 0;
};

inline SendResult send_batches(std::shared_ptr<grpc::Channel> ch,
                               const std::vector<v1::EventBatch>& batches,
                               const std::string& token = "") {
  auto stub = v1::Collector::NewStub(ch);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  auto stream = stub->Export(&ctx);
  SendResult r;
  std::thread reader([&] {
    v1::ExportAck ack;
    while (stream->Read(&ack)) {
      r.acked = std::max(r.acked, ack.acked_sequence());
      r.duplicates += ack.duplicates();
    }
  });
  for (const auto& b : batches)
    if (!stream->Write(b)) break;
  stream->WritesDone();
  reader.join();
  r.status = stream->Finish();
  return r;
}

}  // namespace tapir::testing
