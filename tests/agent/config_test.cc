// Configuration: YAML keys, flag overrides, one clear error naming the key.
#include "agent/config.h"

#include <fstream>

#include <gtest/gtest.h>

#include "harness.h"

namespace tapir::agent {
namespace {

constexpr const char* kGood = R"(
agent:
  id: web01
  labels: {site: paris, rack: r12}
capture:
  interfaces: [eth0, eth1]
  filter: "not port 22"
  snaplen: 1500
flow:
  max_flows: 200000
  udp_idle_s: 45
  tcp_close_linger_s: 5
collector:
  address: collector.example:4317
  token: abc
tls:
  ca: /etc/tapir/ca.pem
  cert: /etc/tapir/web01.pem
  key: /etc/tapir/web01.key
export:
  events: [flow, dns]
  batch_events: 200
  queue_batches: 16
spool:
  dir: /var/lib/tapir-agent/spool
  max_bytes: 1000000
  drop: newest
)";

TEST(AgentConfig, ParsesEveryKey) {
  AgentConfig c;
  std::string err;
  ASSERT_TRUE(parse_config_yaml(kGood, c, err)) << err;
  EXPECT_EQ(c.id, "web01");
  EXPECT_EQ(c.exporter.agent_id, "web01");
  EXPECT_EQ(c.labels.at("site"), "paris");
  EXPECT_EQ(c.capture.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  EXPECT_EQ(c.capture.filter, "not port 22");
  EXPECT_EQ(c.capture.snaplen, 1500);
  EXPECT_EQ(c.exporter.transport.collector, "collector.example:4317");
  EXPECT_EQ(c.exporter.transport.token, "abc");
  EXPECT_EQ(c.batching.types.size(), 2u);
  EXPECT_TRUE(c.batching.types.count(v1::Event::kDns));
  EXPECT_EQ(c.batching.max_events, 200u);
  EXPECT_EQ(c.exporter.queue_batches, 16u);
  EXPECT_EQ(c.exporter.spool.max_bytes, 1000000u);
  EXPECT_EQ(c.exporter.drop_policy, DropPolicy::kNewest);
  EXPECT_EQ(c.flow.max_flows, 200000u);
  EXPECT_EQ(c.flow.udp_idle_timeout, 45 * kNsPerSec);
  EXPECT_EQ(c.flow.tcp_close_linger, 5 * kNsPerSec);
  EXPECT_EQ(c.flow.tcp_idle_timeout, flow::FlowConfig{}.tcp_idle_timeout);  // untouched default
}

struct BadCase {
  const char* yaml;
  const char* want;  // expected start of the error
};

void PrintTo(const BadCase& b, std::ostream* os) { *os << b.yaml; }

class AgentConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(AgentConfigErrors, NameTheKeyAndTheProblem) {
  AgentConfig c;
  std::string err;
  std::string yaml = GetParam().yaml;
  if (yaml.find("capture:") == std::string::npos) yaml += "\ncapture: {files: [a.pcap]}";
  if (yaml.find("collector:") == std::string::npos)
    yaml += "\ncollector: {address: 'h:1', insecure: true}";
  EXPECT_FALSE(parse_config_yaml(yaml, c, err));
  EXPECT_EQ(err.rfind(GetParam().want, 0), 0u) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, AgentConfigErrors,
    ::testing::Values(BadCase{"export: {batch_events: many}", "export.batch_events: expected an integer"},
                      BadCase{"export: {batch_evnts: 5}", "export.batch_evnts: unknown key"},
                      BadCase{"bogus: {}", "bogus: unknown section"},
                      BadCase{"spool: {drop: random}", "spool.drop: expected oldest or newest"},
                      BadCase{"export: {events: [flow, smtp]}", "export.events: unknown event type 'smtp'"},
                      BadCase{"capture: {files: [a.pcap], snaplen: 10}", "capture.snaplen: 10 is out of range"},
                      BadCase{"collector: {address: 'h:1', insecure: perhaps}", "collector.insecure: expected true or false"},
                      BadCase{"privileges: {group: g}", "privileges.group: needs privileges.user"},
                      BadCase{"flow: {tcp_idle_s: 0}", "flow.tcp_idle_s: 0 is out of range"},
                      BadCase{"flow: {close_linger: 5}", "flow.close_linger: unknown key"}));

TEST(AgentConfig, MissingEssentials) {
  AgentConfig c1, c2, c3;
  std::string err;
  EXPECT_FALSE(parse_config_yaml("collector: {address: 'h:1', insecure: true}", c1, err));
  EXPECT_EQ(err.rfind("capture.interfaces:", 0), 0u) << err;
  EXPECT_FALSE(parse_config_yaml("capture: {files: [x]}", c2, err));
  EXPECT_EQ(err.rfind("collector.address:", 0), 0u) << err;
  EXPECT_FALSE(parse_config_yaml("capture: {files: [x]}\ncollector: {address: 'h:1'}", c3, err));
  EXPECT_EQ(err.rfind("tls.ca: not set", 0), 0u) << err;
}

TEST(AgentConfig, FlagsOverrideTheFile) {
  auto dir = test::temp_dir("config-flags");
  std::ofstream(dir + "/agent.yaml") << kGood;
  CLI::App app;
  Flags flags;
  add_flags(app, flags);
  std::vector<std::string> args = {"x", "--config", dir + "/agent.yaml", "-i", "lo", "--drop",
                                   "oldest", "--label", "site=lyon", "--events", "tls,http"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  AgentConfig c;
  std::string err;
  ASSERT_TRUE(load_config(app, flags, c, err)) << err;
  EXPECT_EQ(c.capture.interfaces, std::vector<std::string>{"lo"});
  EXPECT_EQ(c.exporter.drop_policy, DropPolicy::kOldest);
  EXPECT_EQ(c.labels.at("site"), "lyon");
  EXPECT_EQ(c.labels.at("rack"), "r12");  // from the file
  EXPECT_TRUE(c.batching.types.count(v1::Event::kTls));
  EXPECT_FALSE(c.batching.types.count(v1::Event::kDns));
  EXPECT_EQ(c.capture.snaplen, 1500);  // untouched
}

}  // namespace
}  // namespace tapir::agent

namespace tapir::agent {
namespace {

TEST(AgentConfig, ShippedExampleParses) {
  std::string text = test::read_all(std::string(TAPIR_SOURCE_DIR) + "/deploy/config/agent.yaml");
  ASSERT_FALSE(text.empty());
  AgentConfig c;
  std::string err;
  ASSERT_TRUE(parse_config_yaml(text, c, err)) << err;
  EXPECT_EQ(c.id, "web-01");
  EXPECT_EQ(c.user, "tapir");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9464");
}

}  // namespace
}  // namespace tapir::agent
