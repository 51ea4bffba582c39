// The live-tail hub and the route handlers as objects over a real SQLite
// store: subscribers with the same resource and filters share one store
// query per poll and receive the very same rendered text; the rows they get
// are the ones the sqlite3 CLI selects above their starting point.
#include <gtest/gtest.h>

#include <mutex>

#include "../collector/events.h"
#include "../collector/harness.h"
#include "api/handlers.h"
#include "api/tail.h"

namespace tapir {
namespace {

namespace tt = testing;

struct Collect : api::TailSink {
  void deliver(std::shared_ptr<const std::string> events) override {
    std::lock_guard lk(mu);
    texts.push_back(std::move(events));
  }
  std::string all() {
    std::lock_guard lk(mu);
    std::string s;
    for (const auto& t : texts) s += *t;
    return s;
  }
  std::mutex mu;
  std::vector<std::shared_ptr<const std::string>> texts;
};

// The ids in an event stream, one per line.
std::string ids_of(const std::string& events) {
  std::string out;
  for (auto p = events.find("\nid: "); p != std::string::npos; p = events.find("\nid: ", p + 1)) {
    auto e = events.find('\n', p + 5);
    out += events.substr(p + 5, e - p - 5) + "\n";
  }
  return tt::trim(out);
}

void insert(store::Store& s, uint64_t seq, int first, int count) {
  auto b = tt::flow_batch("agent-1", seq, first, count);
  s.insert({store::BatchIn("agent-1", seq, &b)});
}

TEST(TailHub, SubscribersOfOneQueryShareOnePoll) {
  std::string dir = tt::temp_dir("api-tail");
  std::string db = dir + "/t.db";
  auto store = store::open_sqlite(db);
  insert(*store, 1, 0, 100);
  api::Handlers handlers(*store, false);
  api::TailHub hub(*store);  // not started: the test drives poll_once()

  auto spec_of = [&](const std::string& path, const std::string& query) {
    api::Request req{"GET", path, api::parse_query_string(query), ""};
    auto res = handlers.handle_api(req);
    EXPECT_EQ(res.status, 200) << res.body;
    return res.tail;
  };
  auto filtered = spec_of("/api/v1/flow/stream", "dst_port_eq=443");
  auto all_flows = spec_of("/api/v1/flow/stream", "");
  ASSERT_TRUE(filtered && all_flows);
  ASSERT_EQ(filtered->parts.size(), 1u);
  EXPECT_EQ(std::to_string(filtered->parts[0].after), tt::sqlite(db, "SELECT MAX(id) FROM flow"));
  // A filter the handlers reject never becomes a tail.
  api::Request bad{"GET", "/api/v1/flow/stream", api::parse_query_string("nosuch_eq=1"), ""};
  auto bad_res = handlers.handle_api(bad);
  EXPECT_EQ(bad_res.status, 400);
  EXPECT_FALSE(bad_res.tail);

  std::vector<std::shared_ptr<Collect>> f(50), a(10);
  for (auto& s : f) hub.attach(*filtered, s = std::make_shared<Collect>());
  for (auto& s : a) hub.attach(*all_flows, s = std::make_shared<Collect>());
  EXPECT_EQ(hub.groups(), 2u);
  EXPECT_EQ(hub.members(), 60u);

  hub.poll_once();
  EXPECT_EQ(hub.polls(), 2u);  // one query per group, not per subscriber
  EXPECT_TRUE(f[0]->texts.empty());

  std::string before = tt::sqlite(db, "SELECT MAX(id) FROM flow");
  insert(*store, 2, 100, 10);
  hub.poll_once();
  EXPECT_EQ(hub.polls(), 4u);
  std::string want_f = tt::sqlite(db, "SELECT id FROM flow WHERE dst_port = 443 AND id > " + before + " ORDER BY id");
  std::string want_a = tt::sqlite(db, "SELECT id FROM flow WHERE id > " + before + " ORDER BY id");
  ASSERT_NE(want_f, "");
  for (auto& s : f) {
    EXPECT_EQ(ids_of(s->all()), want_f);
    ASSERT_EQ(s->texts.size(), 1u);
    EXPECT_EQ(s->texts[0].get(), f[0]->texts[0].get()) << "rendered once, shared";
  }
  for (auto& s : a) EXPECT_EQ(ids_of(s->all()), want_a);
  EXPECT_EQ(f[0]->all().rfind("event: flow\nid: ", 0), 0u) << f[0]->all();

  // A subscriber that joins now starts after the rows already there.
  auto late_spec = spec_of("/api/v1/flow/stream", "dst_port_eq=443");
  auto late = std::make_shared<Collect>();
  hub.attach(*late_spec, late);
  std::string before3 = tt::sqlite(db, "SELECT MAX(id) FROM flow");
  insert(*store, 3, 200, 10);
  hub.poll_once();
  EXPECT_EQ(ids_of(late->all()),
            tt::sqlite(db, "SELECT id FROM flow WHERE dst_port = 443 AND id > " + before3 + " ORDER BY id"));
  EXPECT_EQ(ids_of(f[0]->all()),
            tt::sqlite(db, "SELECT id FROM flow WHERE dst_port = 443 AND id > " + before + " ORDER BY id"));

  // Subscribers that are gone leave; an empty group is dropped.
  f.clear();
  late.reset();
  hub.poll_once();
  EXPECT_EQ(hub.groups(), 1u);
  EXPECT_EQ(hub.members(), 10u);
}

TEST(Handlers, QueryStringsAndPathsDecode) {
  auto p = api::parse_query_string("b=2&a=x%20y+z&id=5&id=7&flag&bad=%zz");
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0], (std::pair<std::string, std::string>{"a", "x y z"}));
  EXPECT_EQ(p[1], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_EQ(p[2], (std::pair<std::string, std::string>{"bad", "%zz"}));
  EXPECT_EQ(p[3], (std::pair<std::string, std::string>{"flag", ""}));
  EXPECT_EQ(p[4], (std::pair<std::string, std::string>{"id", "5"}));
  EXPECT_EQ(p[5], (std::pair<std::string, std::string>{"id", "7"}));
  std::string out;
  EXPECT_TRUE(api::decode_path("/api/v1/fl%6Fw", out));
  EXPECT_EQ(out, "/api/v1/flow");
  EXPECT_FALSE(api::decode_path("/a%00b", out));
  EXPECT_FALSE(api::decode_path("/a%4", out));
  EXPECT_FALSE(api::decode_path("/a%g0", out));
}

}  // namespace
}  // namespace tapir
