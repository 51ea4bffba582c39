// End to end: tapir-agent replays every capture of the corpus to a
// tapir-collector over mutual TLS; the query API must then return exactly the
// events `tapir decode` produces for the same files: the same number per type
// and the same field values, event for event.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "../collector/harness.h"
#include "canon.h"
#include "schema/columns.h"

namespace tapir {
namespace {

using nlohmann::json;

TEST(E2E, AgentToCollectorMatchesTapirDecode) {
  std::string dir = testing::temp_dir("e2e");
  auto certs = testing::Certs::make(dir);
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(TAPIR_TESTDATA)) {
    auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".pcap" || ext == ".pcapng")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 10u);

  // What tapir decode makes of each file, one capture per file as the agent reads them.
  std::map<std::string, std::multiset<std::string>> want;
  for (const auto& f : files) {
    std::string out = testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir decode -q '") + f +
                                  "' 2>/dev/null");
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      auto ev = json::parse(line, nullptr, false);
      ASSERT_TRUE(ev.is_object() && ev.size() == 1) << f << ": " << line;
      std::string type = ev.begin().key();
      const auto* r = schema::Model::get().find(type);
      ASSERT_NE(r, nullptr) << type;
      json flat = json::object();
      flatten(ev.begin().value(), "", *r, flat);
      want[type].insert(flat.dump());
    }
  }
  ASSERT_FALSE(want.empty());

  std::string db = dir + "/e2e.db";
  testing::CollectorProcess c(db, {"--cert", certs.cert("server"), "--key", certs.key("server"), "--ca",
                                   certs.ca()});
  ASSERT_TRUE(c.start()) << c.output();
  int st = 0;
  std::string token = testing::trim(testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir token create --db ") +
                                                db + " --name e2e", &st));
  ASSERT_EQ(st, 0) << token;
  std::string cmd = std::string(TAPIR_BINARY_DIR "/apps/tapir-agent/tapir-agent --id agent-1 --collector ") +
                    c.grpc_target() + " --server-name localhost --ca " + certs.ca() + " --cert " +
                    certs.cert("agent-1") + " --key " + certs.key("agent-1") + " --spool-dir " + dir +
                    "/spool --drain 120";  // a loaded machine can take more than the default 5 s to connect
  for (const auto& f : files) cmd += " --read '" + f + "'";
  // Damaged captures make the agent exit 1 after exporting the rest; the
  // comparison below is what decides.
  std::string agent_out = testing::sh(cmd + " 2>&1", &st);

  httplib::Client cli("127.0.0.1", c.api_port);
  cli.set_bearer_token_auth(token.c_str());
  for (const auto& r : schema::Model::get().resources()) {
    if (r.name == "agent") continue;  // the agent's reports about itself; decode has none
    std::multiset<std::string> got;
    for (int64_t start = 0;; start += 1000) {
      auto res = cli.Get(("/api/v1/" + r.name + "?_sort=id&_start=" + std::to_string(start) +
                          "&_end=" + std::to_string(start + 1000))
                             .c_str());
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
      auto rows = json::parse(res->body);
      for (const auto& row : rows) got.insert(canon_api(row, r));
      if (rows.size() < 1000) break;
    }
    const auto& w = want[r.name];
    EXPECT_EQ(got.size(), w.size()) << r.name << " events: API vs tapir decode\n" << agent_out;
    std::vector<std::string> missing, extra;
    std::set_difference(w.begin(), w.end(), got.begin(), got.end(), std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), w.begin(), w.end(), std::back_inserter(extra));
    EXPECT_TRUE(missing.empty() && extra.empty())
        << r.name << ": " << missing.size() << " decoded events not in the API, " << extra.size()
        << " API events not decoded\nfirst missing: " << (missing.empty() ? "" : missing[0])
        << "\nfirst extra:   " << (extra.empty() ? "" : extra[0]);
    std::cout << r.name << ": " << got.size() << " events\n";
  }
  auto agents = json::parse(cli.Get("/api/v1/agent?_limit=5")->body);
  ASSERT_FALSE(agents.empty());
  EXPECT_EQ(agents[0]["agent_id"], "agent-1");
}

}  // namespace
}  // namespace tapir
