// The API of a real tapir-collector under the connections that used to
// starve it: 64 connections sending a request head one byte a second, 200
// idle keep-alive connections and 200 live-tail subscribers, each group from
// its own loopback address. Authenticated list requests (checked against the
// sqlite3 CLI), /healthz and /metrics must still be answered; the slow
// connections must be closed by the header timeout, the excess over the
// per-address limit refused with 429, every tail must get its events, and
// the idle connections must still work afterwards. Functional checks only:
// the latencies are measured by bench/api/starve_bench.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "../collector/events.h"
#include "../collector/harness.h"
#include "load.h"

namespace tapir {
namespace {

using nlohmann::json;
namespace tt = testing;

constexpr int kSlow = 64;
constexpr int kIdle = 200;
constexpr int kTails = 200;
constexpr int kPerAddress = 200;

// The value of an unlabelled (or exactly labelled) metric, -1 if absent.
int64_t metric(const std::string& text, const std::string& name) {
  auto p = text.find("\n" + name + " ");
  if (p == std::string::npos) return -1;
  return std::atoll(text.c_str() + p + name.size() + 2);
}

TEST(ApiStarvation, SlowIdleAndTailingClientsDoNotStarveTheApi) {
  std::string dir = tt::temp_dir("api-starve");
  std::string db = dir + "/s.db";
  tt::CollectorProcess c(db, {"--insecure", "--api-max-per-address", std::to_string(kPerAddress),
                              "--api-header-timeout", "2s", "--api-idle-timeout", "600s"});
  ASSERT_TRUE(c.start()) << c.output();
  std::vector<v1::EventBatch> batches;
  for (int s = 0; s < 10; ++s) batches.push_back(tt::flow_batch("agent-1", static_cast<uint64_t>(s + 1), s * 100, 100));
  ASSERT_TRUE(tt::send_batches(tt::agent_channel(c.grpc_target(), nullptr, ""), batches).status.ok());
  int st = 0;
  std::string token =
      tt::trim(tt::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir token create --db ") + db + " --name s", &st));
  ASSERT_EQ(st, 0) << token;

  // 1. Slow request heads from 127.0.0.2, one byte a second.
  const std::string slow_text =
      "GET /api/v1/flow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\nX-Pad: " +
      std::string(200, 'a') + "\r\n\r\n";
  std::vector<int> slow;
  for (int i = 0; i < kSlow; ++i) {
    int fd = tt::connect_from("127.0.0.2", c.api_port);
    ASSERT_GE(fd, 0);
    slow.push_back(fd);
  }
  std::vector<std::atomic<bool>> slow_closed(kSlow);
  std::atomic<bool> stop_slow{false};
  std::thread slow_sender;
  // Stops the sender however the test ends (a failed ASSERT returns early).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Joiner() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } joiner{stop_slow, slow_sender};
  slow_sender = std::thread([&] {
    for (size_t pos = 0; pos < slow_text.size() && !stop_slow; ++pos) {
      for (int i = 0; i < kSlow; ++i)
        if (!slow_closed[static_cast<size_t>(i)] && !tt::send_all(slow[static_cast<size_t>(i)], slow_text.substr(pos, 1)))
          slow_closed[static_cast<size_t>(i)] = true;
      for (int t = 0; t < 10 && !stop_slow; ++t) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });

  // 2. Idle keep-alive connections from 127.0.0.3: half after one request,
  // half that never sent anything; then one more, which the limit refuses.
  std::vector<int> idle;
  for (int i = 0; i < kIdle; ++i) {
    int fd = tt::connect_from("127.0.0.3", c.api_port);
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
    if (i % 2 == 0) {
      ASSERT_TRUE(tt::send_all(fd, tt::get_request("/healthz")));
      auto r = tt::read_reply(fd);
      ASSERT_TRUE(r) << "idle connection " << i;
      ASSERT_EQ(r->status, 200) << r->head;
    }
  }
  {
    int fd = tt::connect_from("127.0.0.3", c.api_port);
    ASSERT_GE(fd, 0);
    tt::send_all(fd, tt::get_request("/healthz"));
    auto r = tt::read_reply(fd);
    ASSERT_TRUE(r) << "the connection over the limit gets an answer";
    EXPECT_EQ(r->status, 429) << r->head;
    EXPECT_NE(r->header("Retry-After"), "");
    auto j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find("127.0.0.3"), std::string::npos) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(std::to_string(kPerAddress)), std::string::npos) << r->body;
    EXPECT_TRUE(tt::peer_closed(fd, 5000));
    ::close(fd);
  }

  // 3. Live tails from 127.0.0.4: half one filtered resource, half two types.
  const std::string filtered = "/api/v1/flow/stream?dst_port_eq=443";
  const std::string several = "/api/v1/stream?types=flow,dns";
  std::vector<int> tails;
  std::vector<std::string> tail_data(kTails);
  for (int i = 0; i < kTails; ++i) {
    int fd = tt::connect_from("127.0.0.4", c.api_port);
    ASSERT_GE(fd, 0);
    tails.push_back(fd);
    ASSERT_TRUE(tt::send_all(fd, tt::get_request(i % 2 ? several : filtered, token)));
  }
  for (int i = 0; i < kTails; ++i) {
    auto& got = tail_data[static_cast<size_t>(i)];
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (got.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < end)
      ASSERT_TRUE(tt::read_some(tails[static_cast<size_t>(i)], got, 100)) << "tail " << i << " closed";
    ASSERT_EQ(got.compare(0, 12, "HTTP/1.1 200"), 0) << "tail " << i << ": " << got;
    EXPECT_NE(got.find("text/event-stream"), std::string::npos) << got;
  }

  // 4. With all of that open: authenticated lists against the oracle, health, metrics.
  httplib::Client cli("127.0.0.1", c.api_port);
  cli.set_bearer_token_auth(token.c_str());
  const std::pair<std::string, std::string> queries[] = {
      {"dst_port_eq=443", "dst_port = 443"},
      {"src_ip_like=10.0.3.*", "src_ip LIKE '10.0.3.%'"},
      {"end_reason_eq=END_FIN", "end_reason = 3"},
      {"src_ip_bytes_gte=50000&src_ip_bytes_lt=70000", "src_ip_bytes >= 50000 AND src_ip_bytes < 70000"},
  };
  for (int round = 0; round < 5; ++round) {
    for (const auto& [q, where] : queries) {
      auto r = cli.Get(("/api/v1/flow?" + q + "&_fields=id&_sort=id&_start=0&_end=1000").c_str());
      ASSERT_TRUE(r) << q << ": " << httplib::to_string(r.error());
      ASSERT_EQ(r->status, 200) << r->body;
      std::string ids;
      for (const auto& row : json::parse(r->body)) ids += std::to_string(row["id"].get<int64_t>()) + "\n";
      EXPECT_EQ(tt::trim(ids), tt::sqlite(db, "SELECT id FROM flow WHERE " + where + " ORDER BY id")) << q;
      EXPECT_EQ(r->get_header_value("X-Total-Count"), tt::sqlite(db, "SELECT COUNT(*) FROM flow WHERE " + where));
    }
    auto h = httplib::Client("127.0.0.1", c.api_port).Get("/healthz");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->status, 200);
    EXPECT_EQ(h->body, "ok\n");
  }
  auto m = httplib::Client("127.0.0.1", c.api_port).Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(metric(m->body, "tapir_api_tails"), kTails) << m->body;
  // 200 subscribers, three distinct queries (filtered flow, flow, dns): three polls per round.
  EXPECT_EQ(metric(m->body, "tapir_api_tail_groups"), 3) << m->body;
  EXPECT_EQ(metric(m->body, "tapir_api_connections_refused_total{limit=\"per_address\"}"), 1) << m->body;
  EXPECT_GE(metric(m->body, "tapir_collector_events_total"), 1000) << m->body;
  // Unauthenticated requests: refused, and refused without waiting for a worker.
  for (int i = 0; i < 20; ++i) {
    httplib::Client anon("127.0.0.1", c.api_port);
    if (i % 2) anon.set_bearer_token_auth("tpr_not_a_token");
    auto r = anon.Get("/api/v1/flow");
    ASSERT_TRUE(r) << "request " << i << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 401);
  }

  // 5. New events reach every tail, filtered as asked.
  v1::EventBatch b = tt::flow_batch("agent-1", 77, 7000, 10);
  tt::fill_dns(b.add_events()->mutable_dns(), 3);
  ASSERT_TRUE(tt::send_batches(tt::agent_channel(c.grpc_target(), nullptr, ""), {b}).status.ok());
  for (int i = 0; i < kTails; ++i) {
    auto& got = tail_data[static_cast<size_t>(i)];
    bool want_dns = i % 2 == 1;
    // 7007 is the last dst_port 443 flow (i % 5 == 2); 7009 the last of all.
    const std::string last_flow = want_dns ? "\"agent-1:77:7009\"" : "\"agent-1:77:7007\"";
    auto done = [&] {
      return got.find(last_flow) != std::string::npos && (!want_dns || got.find("event: dns\n") != std::string::npos);
    };
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!done() && std::chrono::steady_clock::now() < end)
      ASSERT_TRUE(tt::read_some(tails[static_cast<size_t>(i)], got, 100)) << "tail " << i << " closed";
    EXPECT_TRUE(done()) << "tail " << i << ": " << got;
    EXPECT_NE(got.find("\"agent-1:77:7002\""), std::string::npos) << got;
    if (!want_dns) {
      EXPECT_EQ(got.find("\"agent-1:77:7000\""), std::string::npos) << "port 53 flow in a port 443 tail";
      EXPECT_EQ(got.find("event: dns"), std::string::npos);
    }
    // Only the new rows, each once: nothing from before the tail connected.
    auto count = [&](const std::string& what) {
      size_t n = 0;
      for (auto p = got.find(what); p != std::string::npos; p = got.find(what, p + 1)) ++n;
      return n;
    };
    EXPECT_EQ(count("event: flow\n"), want_dns ? 10u : 2u) << "tail " << i << ": " << got;
    EXPECT_EQ(count("event: dns\n"), want_dns ? 1u : 0u) << "tail " << i;
  }

  // 6. The slow connections are closed by the header timeout.
  for (int i = 0; i < kSlow; ++i) {
    if (!slow_closed[static_cast<size_t>(i)] && tt::peer_closed(slow[static_cast<size_t>(i)], 30000))
      slow_closed[static_cast<size_t>(i)] = true;
    EXPECT_TRUE(slow_closed[static_cast<size_t>(i)]) << "slow connection " << i << " still open";
  }
  stop_slow = true;
  if (slow_sender.joinable()) slow_sender.join();
  m = httplib::Client("127.0.0.1", c.api_port).Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_GE(metric(m->body, "tapir_api_header_timeouts_total"), kSlow) << m->body;

  // 7. The idle connections were kept, and answer.
  for (int i = 0; i < kIdle; ++i) {
    ASSERT_TRUE(tt::send_all(idle[static_cast<size_t>(i)], tt::get_request("/api/v1/flow?_limit=1&_fields=id", token)));
    auto r = tt::read_reply(idle[static_cast<size_t>(i)]);
    ASSERT_TRUE(r) << "idle connection " << i;
    EXPECT_EQ(r->status, 200) << r->head;
    EXPECT_EQ(r->header("X-Total-Count"), tt::sqlite(db, "SELECT COUNT(*) FROM flow"));
  }
  for (int fd : slow) ::close(fd);
  for (int fd : idle) ::close(fd);
  for (int fd : tails) ::close(fd);
}

}  // namespace
}  // namespace tapir
