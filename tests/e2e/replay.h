// The steps the end-to-end tests share: what `tapir decode` makes of a set of
// captures, a real tapir-agent replaying them into a real tapir-collector
// over mutual TLS, every row of a resource read back through the query API,
// and the comparison of the two.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "../collector/harness.h"
#include "canon.h"

namespace tapir {
namespace {

using Canon = std::map<std::string, std::multiset<std::string>>;  // event type -> events

// Each file decoded on its own, as the agent reads them; `lines` counts events.
inline Canon decoded_events(const std::vector<std::string>& files, std::map<std::string, size_t>* lines = nullptr) {
  Canon want;
  for (const auto& f : files) {
    const std::string out = testing::sh(testing::tapir_bin() + " decode -q '" + f + "' 2>/dev/null");
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) {
      auto [type, canon] = canon_decode_line(line);
      EXPECT_FALSE(type.empty()) << f << ": " << line;
      want[type].insert(canon);
      if (lines) ++(*lines)[f];
    }
  }
  return want;
}

// A collector over mutual TLS, a token for its API, and the agent's run.
struct Replay {
  testing::CollectorProcess collector;
  std::string token;
  std::string agent_out;  // the agent's stdout and stderr

  Replay(const std::string& dir, const testing::Certs& certs)
      : collector(dir + "/e2e.db", {"--cert", certs.cert("server"), "--key", certs.key("server"),
                                    "--ca", certs.ca()}) {}

  // Starts the collector, makes a token and replays `files` with tapir-agent
  // as agent-1. Damaged captures make the agent exit 1 after exporting the
  // rest, so its status is not asserted: the comparison is what decides.
  void run(const std::string& dir, const testing::Certs& certs, const std::vector<std::string>& files) {
    ASSERT_TRUE(collector.start()) << collector.output();
    int st = 0;
    token = testing::trim(
        testing::sh(testing::tapir_bin() + " token create --db " + dir + "/e2e.db --name e2e", &st));
    ASSERT_EQ(st, 0) << token;
    std::string cmd = testing::agent_bin() + " --id agent-1 --collector " + collector.grpc_target() +
                      " --server-name localhost --ca " + certs.ca() + " --cert " + certs.cert("agent-1") +
                      " --key " + certs.key("agent-1") + " --spool-dir " + dir +
                      "/spool --drain 120";  // a loaded machine can take more than the default 5 s to connect
    for (const auto& f : files) cmd += " --read '" + f + "'";
    agent_out = testing::sh(cmd + " 2>&1", &st);
  }

  // Every row of a resource, paged by id.
  nlohmann::json rows(const std::string& resource) {
    httplib::Client cli("127.0.0.1", collector.api_port);
    cli.set_bearer_token_auth(token.c_str());
    nlohmann::json all = nlohmann::json::array();
    for (int64_t start = 0;; start += 1000) {
      auto res = cli.Get(("/api/v1/" + resource + "?_sort=id&_start=" + std::to_string(start) +
                          "&_end=" + std::to_string(start + 1000)).c_str());
      EXPECT_TRUE(res);
      if (!res) break;
      EXPECT_EQ(res->status, 200) << res->body;
      auto page = nlohmann::json::parse(res->body, nullptr, false);
      if (!page.is_array()) break;
      for (auto& row : page) all.push_back(std::move(row));
      if (page.size() < 1000) break;
    }
    return all;
  }

  // The API's events of one resource against what decode made: the same
  // events, event for event. Returns the API's rows.
  nlohmann::json expect_same(const schema::Resource& r, const Canon& want) {
    nlohmann::json all = rows(r.name);
    std::multiset<std::string> got;
    for (const auto& row : all) got.insert(canon_api(row, r));
    static const std::multiset<std::string> kNone;
    const auto it = want.find(r.name);
    const auto& w = it == want.end() ? kNone : it->second;
    std::vector<std::string> missing, extra;
    std::set_difference(w.begin(), w.end(), got.begin(), got.end(), std::back_inserter(missing));
    std::set_difference(got.begin(), got.end(), w.begin(), w.end(), std::back_inserter(extra));
    EXPECT_TRUE(missing.empty() && extra.empty())
        << r.name << ": " << missing.size() << " decoded events not in the API, " << extra.size()
        << " API events not decoded\nfirst missing: " << (missing.empty() ? "" : missing[0])
        << "\nfirst extra:   " << (extra.empty() ? "" : extra[0]) << "\nagent:\n" << agent_out
        << "\ncollector:\n" << collector.output();
    std::cout << r.name << ": " << got.size() << " events\n";
    return all;
  }
};

}  // namespace
}  // namespace tapir
