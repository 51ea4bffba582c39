// A real tapir-collector process over mTLS on loopback: agents identified by
// their certificates, strangers refused, resent batches stored once, and a
// kill -9 in the middle of ingest loses and duplicates nothing.
#include <gtest/gtest.h>

#include <atomic>

#include "events.h"
#include "harness.h"

namespace tapir {
namespace {

using testing::sqlite;

class Ingest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("ingest");
    certs_ = testing::Certs::make(dir_);
  }
  std::vector<std::string> tls_args() const {
    return {"--cert", certs_.cert("server"), "--key", certs_.key("server"), "--ca", certs_.ca(),
            "--no-api-auth"};
  }
  static std::string dir_;
  static testing::Certs certs_;
};
std::string Ingest::dir_;
testing::Certs Ingest::certs_;

TEST_F(Ingest, AgentIdComesFromTheCertificate) {
  std::string db = dir_ + "/id.db";
  testing::CollectorProcess c(db, tls_args());
  ASSERT_TRUE(c.start()) << c.output();
  // The batch may leave agent_id empty; the certificate names the agent.
  std::vector<v1::EventBatch> batches;
  for (uint64_t s = 1; s <= 5; ++s) {
    batches.push_back(testing::flow_batch("", s, static_cast<int>(s) * 100, 20));
  }
  auto r = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"), batches);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.acked, 5u);
  auto r2 = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, "agent-2"),
                                  {testing::flow_batch("agent-2", 1, 0, 7)});
  ASSERT_TRUE(r2.status.ok()) << r2.status.error_message();
  EXPECT_EQ(sqlite(db, "SELECT agent_id, COUNT(*) FROM flow GROUP BY agent_id ORDER BY agent_id"),
            "agent-1|100\nagent-2|7");
  // Claiming another agent's id in the batch is refused.
  auto r3 = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"),
                                  {testing::flow_batch("agent-2", 2, 0, 7)});
  EXPECT_EQ(r3.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "107");
}

TEST_F(Ingest, StrangersAreRefused) {
  std::string db = dir_ + "/strangers.db";
  testing::CollectorProcess c(db, tls_args());
  ASSERT_TRUE(c.start()) << c.output();
  std::vector<v1::EventBatch> b = {testing::flow_batch("agent-1", 1, 0, 5)};
  // Certificate from another CA.
  auto r1 = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, "rogue"), b);
  EXPECT_FALSE(r1.status.ok());
  // No client certificate at all.
  auto r2 = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, ""), b);
  EXPECT_FALSE(r2.status.ok());
  // Plaintext to a TLS port.
  auto r3 = testing::send_batches(testing::agent_channel(c.grpc_target(), nullptr, ""), b);
  EXPECT_FALSE(r3.status.ok());
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "0");
}

TEST_F(Ingest, AgentTokenIsChecked) {
  std::string db = dir_ + "/token.db";
  auto args = tls_args();
  args.push_back("--agent-token");
  args.push_back("s3cret");
  testing::CollectorProcess c(db, args);
  ASSERT_TRUE(c.start()) << c.output();
  std::vector<v1::EventBatch> b = {testing::flow_batch("agent-1", 1, 0, 5)};
  auto ch = testing::agent_channel(c.grpc_target(), &certs_, "agent-1");
  EXPECT_EQ(testing::send_batches(ch, b).status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(testing::send_batches(ch, b, "wrong").status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(testing::send_batches(ch, b, "s3cret").status.ok());
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "5");
}

TEST_F(Ingest, ResentBatchesAreStoredOnceAndCounted) {
  std::string db = dir_ + "/resend.db";
  testing::CollectorProcess c(db, tls_args());
  ASSERT_TRUE(c.start()) << c.output();
  std::vector<v1::EventBatch> b;
  for (uint64_t s = 1; s <= 10; ++s) b.push_back(testing::flow_batch("agent-1", s, static_cast<int>(s) * 10, 10));
  auto ch = testing::agent_channel(c.grpc_target(), &certs_, "agent-1");
  auto r1 = testing::send_batches(ch, b);
  ASSERT_TRUE(r1.status.ok());
  // A reconnecting agent resends from 6.
  std::vector<v1::EventBatch> again(b.begin() + 5, b.end());
  again.push_back(testing::flow_batch("agent-1", 11, 110, 10));
  auto r2 = testing::send_batches(ch, again);
  ASSERT_TRUE(r2.status.ok());
  EXPECT_EQ(r2.duplicates, 5u);
  EXPECT_EQ(r2.acked, 11u);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*), COUNT(DISTINCT community_id) FROM flow"), "110|110");
  std::string metrics = testing::sh("curl -s " + c.api_url() + "/metrics");
  EXPECT_NE(metrics.find("tapir_collector_dedup_hits_total 5"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("tapir_collector_events_total 110"), std::string::npos) << metrics;
}

// Two agents with the same certificate (a cloned host) count sequences from 1
// each; their instance ids keep them apart. Without instance ids, the second
// agent's batches are taken for resends of the first's: the case the field is for.
TEST_F(Ingest, AgentsSharingAnIdentityAreKeptApartByInstance) {
  std::string db = dir_ + "/clones.db";
  testing::CollectorProcess c(db, tls_args());
  ASSERT_TRUE(c.start()) << c.output();
  auto batches = [](const std::string& instance, int first) {
    std::vector<v1::EventBatch> b;
    for (uint64_t s = 1; s <= 4; ++s) {
      b.push_back(testing::flow_batch("agent-1", s, first + static_cast<int>(s) * 10, 10));
      b.back().set_instance_id(instance);
    }
    return b;
  };
  auto ch = testing::agent_channel(c.grpc_target(), &certs_, "agent-1");
  auto a = testing::send_batches(ch, batches("00000000000000aa", 0));
  auto b = testing::send_batches(ch, batches("00000000000000bb", 1000));
  ASSERT_TRUE(a.status.ok() && b.status.ok()) << a.status.error_message() << b.status.error_message();
  EXPECT_EQ(a.duplicates + b.duplicates, 0u);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*), COUNT(DISTINCT community_id) FROM flow"), "80|80");
  // A resend within one instance is still a duplicate.
  auto again = testing::send_batches(ch, batches("00000000000000aa", 0));
  EXPECT_EQ(again.duplicates, 4u);
  EXPECT_EQ(sqlite(db, "SELECT agent_id, instance, contiguous FROM _ingest ORDER BY instance"),
            "agent-1|00000000000000aa|4\nagent-1|00000000000000bb|4");
  // An oversized instance id cannot key de-duplication: the batch is kept
  // whole in the rejects table and acknowledged, its events not stored.
  auto big = batches(std::string(65, 'x'), 5000);
  auto r = testing::send_batches(ch, {big[0]});
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*) FROM flow"), "80");
  EXPECT_EQ(sqlite(db, "SELECT reason, sequence, detail FROM rejects"),
            "6|1|instance_id of 65 bytes (at most 64)");
}

// The agent keeps sending while the collector is killed with SIGKILL; after a
// restart it resends everything not acknowledged (and, to be hard on the
// collector, some that were). Every (batch, event) must be stored exactly once.
TEST_F(Ingest, KillNineDuringIngestLosesAndDuplicatesNothing) {
  std::string db = dir_ + "/kill.db";
  constexpr int kBatches = 400;
  constexpr int kPerBatch = 50;
  std::vector<v1::EventBatch> all;
  for (int s = 1; s <= kBatches; ++s)
    all.push_back(testing::flow_batch("agent-1", static_cast<uint64_t>(s), s * kPerBatch, kPerBatch));

  testing::CollectorProcess c(db, tls_args());
  ASSERT_TRUE(c.start()) << c.output();
  std::atomic<uint64_t> acked{0};
  std::thread agent([&] {
    auto stub = v1::Collector::NewStub(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"));
    grpc::ClientContext ctx;
    auto stream = stub->Export(&ctx);
    std::thread reader([&] {
      v1::ExportAck ack;
      while (stream->Read(&ack)) acked = std::max<uint64_t>(acked, ack.acked_sequence());
    });
    for (const auto& b : all)
      if (!stream->Write(b)) break;
    stream->WritesDone();
    reader.join();
    stream->Finish();
  });
  // Kill once some batches are acknowledged but (very likely) not all.
  for (int i = 0; i < 600 && acked < 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  c.stop(SIGKILL);
  agent.join();
  uint64_t acked_before = acked;
  ASSERT_GT(acked_before, 0u);
  std::string stored_before = sqlite(db, "SELECT COUNT(*) FROM flow");
  // Everything acknowledged is stored.
  EXPECT_GE(std::stoll(stored_before), static_cast<long long>(acked_before * kPerBatch));

  ASSERT_TRUE(c.start()) << c.output();
  uint64_t resend_from = acked_before > 10 ? acked_before - 10 : 1;
  std::vector<v1::EventBatch> rest(all.begin() + static_cast<long>(resend_from - 1), all.end());
  auto r = testing::send_batches(testing::agent_channel(c.grpc_target(), &certs_, "agent-1"), rest);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.acked, static_cast<uint64_t>(kBatches));
  EXPECT_GE(r.duplicates, 10u);
  std::string total = std::to_string(kBatches * kPerBatch);
  EXPECT_EQ(sqlite(db, "SELECT COUNT(*), COUNT(DISTINCT community_id) FROM flow"), total + "|" + total);
  // Per batch: exactly kPerBatch events each.
  EXPECT_EQ(sqlite(db,
                   "SELECT COUNT(*) FROM (SELECT substr(community_id, 1, instr(substr(community_id, 9), ':') + 7) AS b,"
                   " COUNT(*) AS n FROM flow GROUP BY b HAVING n != " + std::to_string(kPerBatch) + ")"),
            "0");
  EXPECT_EQ(sqlite(db, "SELECT contiguous FROM _ingest WHERE agent_id='agent-1'"), std::to_string(kBatches));
  std::cout << "acked before kill: " << acked_before << " batches; stored before restart: "
            << stored_before << " events\n";
}

}  // namespace
}  // namespace tapir
