// Security of the agent <-> collector link, with real processes: certificates
// from `tapir certs init` checked by `openssl verify`, mutual TLS end to end,
// and every refusal (no client certificate, another CA, expired certificate,
// wrong token) seen on both sides; --insecure works and warns.
#include <sys/stat.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "agent/exporter.h"
#include "harness.h"
#include "tapir/v1/collector.grpc.pb.h"

namespace tapir::agent {
namespace {

using namespace test;

const std::string kPcap = std::string(TAPIR_TESTDATA) +
                          "/zeek/tls__tls-fragmented-handshake/tls-fragmented-handshake.pcap";

struct Pki {
  std::string dir;
  std::string ca() const { return dir + "/ca.pem"; }
  std::string cert(const std::string& id) const { return dir + "/agents/" + id + ".pem"; }
  std::string key(const std::string& id) const { return dir + "/agents/" + id + ".key"; }
};

Pki make_pki(const std::string& base, const std::string& name) {
  Pki p{base + "/" + name};
  auto r = run({tapir_bin(), "certs", "init", "--dir", p.dir, "--collector-name", "collector.test",
                "--agents", "2"},
               base);
  EXPECT_EQ(r.status, 0) << r.err;
  return p;
}

std::vector<std::string> tls_flags(const Pki& p, const std::string& token = {}) {
  std::vector<std::string> f = {"--cert", p.dir + "/collector.pem", "--key",
                                p.dir + "/collector.key", "--ca", p.ca()};
  if (!token.empty()) f.insert(f.end(), {"--agent-token", token});
  return f;
}

TEST(AgentCerts, InitProducesAValidChain) {
  auto dir = temp_dir("certs");
  Pki p = make_pki(dir, "pki");
  auto r = run({"/usr/bin/openssl", "verify", "-CAfile", p.ca(), p.dir + "/collector.pem",
                p.cert("agent-1"), p.cert("agent-2")},
               dir);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("collector.pem: OK"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("agent-2.pem: OK"), std::string::npos) << r.out;
  // Purpose checks: the collector certificate is for servers, agents' for clients.
  EXPECT_EQ(run({"/usr/bin/openssl", "verify", "-purpose", "sslserver", "-CAfile", p.ca(),
                 p.dir + "/collector.pem"}, dir).status, 0);
  EXPECT_EQ(run({"/usr/bin/openssl", "verify", "-purpose", "sslclient", "-CAfile", p.ca(),
                 p.cert("agent-1")}, dir).status, 0);
  auto text = run({"/usr/bin/openssl", "x509", "-in", p.dir + "/collector.pem", "-noout", "-ext",
                   "subjectAltName"}, dir).out;
  for (const char* n : {"DNS:collector.test", "DNS:localhost", "IP Address:127.0.0.1",
                        "IP Address:0:0:0:0:0:0:0:1"})
    EXPECT_NE(text.find(n), std::string::npos) << n << " missing in " << text;
  auto subject = run({"/usr/bin/openssl", "x509", "-in", p.cert("agent-1"), "-noout", "-subject",
                      "-nameopt", "RFC2253"}, dir).out;
  EXPECT_NE(subject.find("CN=agent-1"), std::string::npos) << subject;
  for (const auto& k : {p.dir + "/ca.key", p.dir + "/collector.key", p.key("agent-1")}) {
    struct stat st;
    ASSERT_EQ(::stat(k.c_str(), &st), 0) << k;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << k;
  }
  // A second init would silently orphan every issued certificate: refused.
  auto again = run({tapir_bin(), "certs", "init", "--dir", p.dir}, dir);
  EXPECT_NE(again.status, 0);
  EXPECT_NE(again.err.find("ca.key exists"), std::string::npos) << again.err;
  // issue-agent adds one; an expired one fails verification for that reason.
  EXPECT_EQ(run({tapir_bin(), "certs", "issue-agent", "--dir", p.dir, "--id", "late"}, dir).status, 0);
  EXPECT_EQ(run({"/usr/bin/openssl", "verify", "-CAfile", p.ca(), p.cert("late")}, dir).status, 0);
  EXPECT_EQ(run({tapir_bin(), "certs", "issue-agent", "--dir", p.dir, "--id", "old", "--days", "-1"},
                dir).status, 0);
  auto expired = run({"/usr/bin/openssl", "verify", "-CAfile", p.ca(), p.cert("old")}, dir);
  EXPECT_NE(expired.status, 0);
  EXPECT_NE((expired.out + expired.err).find("expired"), std::string::npos) << expired.out << expired.err;
}

TEST(AgentSecurity, MutualTlsEndToEndWithToken) {
  auto dir = temp_dir("mtls");
  Pki p = make_pki(dir, "pki");
  CollectorProcess col(dir, tls_flags(p, "s3cret"));
  ASSERT_TRUE(col.start()) << col.err();
  std::ofstream(dir + "/token") << "s3cret\n";
  auto r = run({agent_bin(), "-r", kPcap, "-c", col.address(), "--ca", p.ca(), "--cert",
                p.cert("agent-2"), "--key", p.key("agent-2"), "--token-file", dir + "/token",
                "--spool-dir", dir + "/spool", "--label", "site=test", "--drain", "60"},
               dir);
  ASSERT_EQ(r.status, 0) << r.err;
  // The agent id defaults to the certificate CN, which the collector checks.
  EXPECT_NE(r.err.find("as 'agent-2'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("spooled now 0 events"), std::string::npos) << r.err;
  EXPECT_GT(sql_long(col.db(), "select count(*) from flow where agent_id = 'agent-2'"), 0);
  EXPECT_EQ(sql_long(col.db(), "select count(*) from flow where agent_id <> 'agent-2'"), 0);
  // Agent events: on connect and a final one with the counters.
  EXPECT_GE(sql_long(col.db(), "select count(*) from agent where agent_id = 'agent-2'"), 2);
  EXPECT_EQ(sql(col.db(), "select labels from agent order by id desc limit 1"), "{\"site\":\"test\"}");
  // The last report counts the 416 packets of the capture (tshark -r ... | wc -l says 416).
  EXPECT_EQ(sql_long(col.db(), "select counters_packets_seen from agent order by id desc limit 1"), 416);
}

struct Refusal {
  const char* name;
  const char* agent_error;      // in the exporter's last error
  // In the collector's log; "metric": counted in tapir_collector_auth_failures_total;
  // "": the agent refused the collector, which only sees a closed connection.
  const char* collector_error;
};

void PrintTo(const Refusal& r, std::ostream* os) { *os << r.name; }

class AgentRefused : public ::testing::TestWithParam<Refusal> {};

TEST_P(AgentRefused, WithAClearErrorOnBothSides) {
  const Refusal& rc = GetParam();
  auto dir = temp_dir(std::string("refused-") + rc.name);
  Pki p = make_pki(dir, "pki");
  CollectorProcess col(dir, tls_flags(p, "s3cret"));
  ASSERT_TRUE(col.start()) << col.err();
  ExporterConfig cfg;
  cfg.agent_id = "agent-1";
  cfg.transport.collector = col.address();
  cfg.transport.ca_file = p.ca();
  cfg.transport.cert_file = p.cert("agent-1");
  cfg.transport.key_file = p.key("agent-1");
  cfg.transport.token = "s3cret";
  cfg.backoff_initial = std::chrono::milliseconds(100);
  cfg.backoff_max = std::chrono::milliseconds(500);
  cfg.report_interval = std::chrono::milliseconds(0);
  std::string name = rc.name;
  if (name == "other_ca") {
    Pki other = make_pki(dir, "other");
    cfg.transport.cert_file = other.cert("agent-1");
    cfg.transport.key_file = other.key("agent-1");
  } else if (name == "expired") {
    ASSERT_EQ(run({tapir_bin(), "certs", "issue-agent", "--dir", p.dir, "--id", "agent-1", "--days",
                   "-1"}, dir).status, 0);
  } else if (name == "wrong_token") {
    cfg.transport.token = "guess";
  } else if (name == "no_token") {
    cfg.transport.token.clear();
  } else if (name == "collector_not_trusted") {
    Pki other = make_pki(dir, "other");
    cfg.transport.ca_file = other.ca();
  }
  std::string err;
  auto ex = Exporter::create(cfg, err);
  ASSERT_TRUE(ex) << err;
  ex->start();
  OwnedBatch b = OwnedBatch::make();
  b.batch->add_events()->mutable_dns()->set_query("refused.example");
  ex->submit(std::move(b));
  ASSERT_TRUE(wait_until([&] { return ex->stats().stream_failures >= 2; })) << ex->stats().last_error;
  auto s = ex->stats();
  ex->stop(std::chrono::milliseconds(0));
  EXPECT_EQ(s.batches_acked, 0u);
  EXPECT_NE(s.last_error.find(rc.agent_error), std::string::npos) << s.last_error;
  EXPECT_EQ(sql_long(col.db(), "select count(*) from dns"), 0);
  if (std::string(rc.collector_error) == "metric") {
    // The service refused the stream: counted in the collector's metrics.
    std::string m = run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(col.api_port()) +
                         "/metrics"}, dir).out;
    auto at = m.find("\ntapir_collector_auth_failures_total ");
    ASSERT_NE(at, std::string::npos) << m;
    EXPECT_GE(std::atol(m.c_str() + at + 37), 1) << m.substr(at, 60);
  } else if (*rc.collector_error) {
    EXPECT_NE(col.err().find(rc.collector_error), std::string::npos) << col.err();
  }
  std::string m = run({"/usr/bin/curl", "-s", "http://127.0.0.1:" + std::to_string(col.api_port()) +
                       "/metrics"}, dir).out;
  auto at = m.find("\ntapir_collector_tls_handshake_failures_total ");
  ASSERT_NE(at, std::string::npos) << m;
  long handshakes = std::atol(m.c_str() + at + 46);
  if (std::string(rc.agent_error) == "TLS was refused") {
    // Refused in the handshake: the agent counts it; the collector counts the
    // handshakes it refused itself (as its log says), while one the agent
    // broke off after the collector's side completed is a closed connection.
    EXPECT_GE(s.tls_failures, 1u) << s.last_error;
    if (*rc.collector_error) {
      EXPECT_GE(handshakes, 1) << m.substr(at, 70);
    }
  } else {
    // Refused by the service after a good handshake: not a TLS failure.
    EXPECT_EQ(handshakes, 0) << m.substr(at, 70);
    EXPECT_EQ(s.tls_failures, 0u);
    EXPECT_EQ(s.last_error.find("TLS was refused"), std::string::npos) << s.last_error;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AgentRefused,
    ::testing::Values(
        Refusal{"other_ca", "TLS was refused", "certificate verify failed"},
        Refusal{"expired", "TLS was refused", "certificate verify failed"},
        Refusal{"wrong_token", "UNAUTHENTICATED: missing or wrong agent token", "metric"},
        Refusal{"no_token", "UNAUTHENTICATED: missing or wrong agent token", "metric"},
        Refusal{"collector_not_trusted", "TLS was refused", ""}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(AgentSecurity, ClientWithoutCertificateIsRefused) {
  auto dir = temp_dir("nocert");
  Pki p = make_pki(dir, "pki");
  CollectorProcess col(dir, tls_flags(p));
  ASSERT_TRUE(col.start()) << col.err();
  // The agent itself will not start without one: the error names the key.
  ExporterConfig cfg;
  cfg.agent_id = "agent-1";
  cfg.transport.collector = col.address();
  cfg.transport.ca_file = p.ca();
  std::string err;
  EXPECT_FALSE(Exporter::create(cfg, err));
  EXPECT_EQ(err.rfind("tls.cert: not set", 0), 0u) << err;
  // A gRPC client that trusts the collector but has no certificate of its own.
  grpc::SslCredentialsOptions o;
  ASSERT_TRUE(read_text_file(p.ca(), o.pem_root_certs, err));
  auto channel = grpc::CreateChannel(col.address(), grpc::SslCredentials(o));
  auto stub = v1::Collector::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->Export(&ctx);
  v1::EventBatch batch;
  batch.set_agent_id("agent-1");
  batch.set_sequence(1);
  stream->Write(batch);
  stream->WritesDone();
  v1::ExportAck ack;
  EXPECT_FALSE(stream->Read(&ack));
  auto status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_TRUE(wait_until([&] { return col.err().find("Handshake failed") != std::string::npos; },
                         std::chrono::seconds(10)))
      << col.err();
  EXPECT_EQ(sql_long(col.db(), "select count(*) from _ingest"), 0);
}

TEST(AgentSecurity, InsecureWorksAndWarns) {
  auto dir = temp_dir("insecure");
  CollectorProcess col(dir, {"--insecure"});
  ASSERT_TRUE(col.start()) << col.err();
  // Two files: one engine and thread each, one exporter.
  const std::string vxlan = std::string(TAPIR_TESTDATA) + "/suricata-verify/vxlan-decoder-03/vxlan.pcap";
  auto r = run({agent_bin(), "-r", kPcap, "-r", vxlan, "-c", col.address(), "--insecure", "--id",
                "plain-1", "--spool-dir", dir + "/spool", "--drain", "60"},
               dir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("WARNING: --insecure"), std::string::npos) << r.err;
  EXPECT_GT(sql_long(col.db(), "select count(*) from flow where agent_id = 'plain-1'"), 0);
  // 416 + 100 frames (tshark -r FILE | wc -l; MANIFEST.tsv agrees).
  EXPECT_EQ(sql_long(col.db(), "select counters_packets_seen from agent where agent_id = 'plain-1' "
                               "order by id desc limit 1"), 516);
  EXPECT_EQ(sql(col.db(), "select interfaces from agent order by id desc limit 1"),
            "[\"" + kPcap + "\",\"" + vxlan + "\"]");
  // Without --insecure and without certificates the agent refuses to start, naming the key.
  auto refused = run({agent_bin(), "-r", kPcap, "-c", col.address()}, dir);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("tls.ca: not set"), std::string::npos) << refused.err;
}

}  // namespace
}  // namespace tapir::agent
