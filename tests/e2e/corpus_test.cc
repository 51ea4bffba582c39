// End to end: tapir-agent replays every capture of the corpus to a
// tapir-collector over mutual TLS; the query API must then return exactly the
// events `tapir decode` produces for the same files: the same number per type
// and the same field values, event for event.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "replay.h"
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
  const Canon want = decoded_events(files);
  ASSERT_FALSE(want.empty());

  Replay replay(dir, certs);
  replay.run(dir, certs, files);
  for (const auto& r : schema::Model::get().resources()) {
    if (r.name == "agent" || r.name == "rejects") continue;  // the agent's own reports; collector records
    replay.expect_same(r, want);
  }
  // Nothing was refused: the corpus is what agents send every day.
  EXPECT_TRUE(replay.rows("rejects").empty()) << replay.rows("rejects").dump();
  auto agents = replay.rows("agent");
  ASSERT_FALSE(agents.empty());
  EXPECT_EQ(agents[0]["agent_id"], "agent-1");
}

}  // namespace
}  // namespace tapir
