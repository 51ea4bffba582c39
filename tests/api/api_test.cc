// The query API of a real tapir-collector process, checked against SQL run
// independently by the sqlite3 CLI on the same database file.
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "../collector/events.h"
#include "../collector/harness.h"
#include "load.h"

namespace tapir {
namespace {

using nlohmann::json;
using testing::sqlite;

constexpr int kFlows = 1000;

class Api : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = testing::temp_dir("api");
    db_ = dir_ + "/api.db";
    collector_ = new testing::CollectorProcess(db_, {"--insecure"});
    ASSERT_TRUE(collector_->start()) << collector_->output();
    std::vector<v1::EventBatch> batches;
    for (int s = 0; s < 10; ++s)
      batches.push_back(testing::flow_batch("agent-1", static_cast<uint64_t>(s + 1), s * 100, 100));
    v1::EventBatch dns;
    dns.set_agent_id("agent-1");
    dns.set_sequence(11);
    for (int i = 0; i < 20; ++i) testing::fill_dns(dns.add_events()->mutable_dns(), i);
    batches.push_back(dns);
    auto r = testing::send_batches(testing::agent_channel(collector_->grpc_target(), nullptr, ""), batches);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    int st = 0;
    token_ = testing::trim(testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir token create --db ") +
                                       db_ + " --name test", &st));
    ASSERT_EQ(st, 0) << token_;
    ASSERT_EQ(token_.rfind("tpr_", 0), 0u) << token_;
  }
  static void TearDownTestSuite() { delete collector_; }

  httplib::Result get(const std::string& path, bool auth = true) {
    httplib::Client cli("127.0.0.1", collector_->api_port);
    if (auth) cli.set_bearer_token_auth(token_.c_str());
    return cli.Get(path.c_str());
  }
  json get_json(const std::string& path, int expect_status = 200) {
    auto r = get(path);
    EXPECT_TRUE(r) << path;
    if (!r) return nullptr;
    EXPECT_EQ(r->status, expect_status) << path << "\n" << r->body;
    return json::parse(r->body, nullptr, false);
  }
  // ids of the API answer and of the SQL oracle, both in id order.
  void compare(const std::string& query, const std::string& where) {
    auto r = get("/api/v1/flow?" + query + "&_fields=id&_sort=id&_start=0&_end=1000");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << query << "\n" << r->body;
    std::string ids;
    for (const auto& row : json::parse(r->body)) ids += std::to_string(row["id"].get<int64_t>()) + "\n";
    std::string want = sqlite(db_, "SELECT id FROM flow WHERE " + where + " ORDER BY id LIMIT 1000");
    EXPECT_EQ(testing::trim(ids), want) << query;
    EXPECT_EQ(r->get_header_value("X-Total-Count"),
              sqlite(db_, "SELECT COUNT(*) FROM flow WHERE " + where))
        << query;
    EXPECT_NE(want, "") << "oracle selects nothing for " << query << "; the case tests little";
  }

  static std::string dir_, db_, token_;
  static testing::CollectorProcess* collector_;
};
std::string Api::dir_, Api::db_, Api::token_;
testing::CollectorProcess* Api::collector_ = nullptr;

TEST_F(Api, FiltersMatchSql) {
  ASSERT_EQ(sqlite(db_, "SELECT COUNT(*) FROM flow"), std::to_string(kFlows));
  compare("dst_port_eq=443", "dst_port = 443");
  compare("dst_port=443", "dst_port = 443");
  compare("src_ip_eq=10.0.1.2", "src_ip = '10.0.1.2'");
  compare("dst_ip_eq=2001:db8:0:0:0:0:0:1", "dst_ip = '2001:db8::1'");
  compare("src_ip_bytes_gte=50000&src_ip_bytes_lt=70000", "src_ip_bytes >= 50000 AND src_ip_bytes < 70000");
  compare("dst_ip_bytes_lte=1000", "dst_ip_bytes <= 1000");
  compare("rtt_us_gt=4000", "rtt_us > 4000");
  compare("app_proto_ne=dns", "app_proto IS NOT 'dns'");
  compare("app_proto_eq=", "app_proto = ''");
  compare("dst_port_in=53,8080", "dst_port IN (53, 8080)");
  compare("src_ip_like=10.0.3.*", "src_ip LIKE '10.0.3.%'");
  compare("community_id_like=:7:", "community_id LIKE '%:7:%'");
  compare("end_reason_eq=END_FIN", "end_reason = 3");
  compare("end_reason_in=END_IDLE,6", "end_reason IN (1, 6)");
  compare("ts_gte=2023-11-14T22:20:00Z&ts_lt=1700001000",
          "ts >= 1700000400000000000 AND ts < 1700001000000000000");
  compare("ts_gte=1700000400.5", "ts >= 1700000400500000000");
  compare("rtt_us_eq=0&ip_version_eq=6", "rtt_us = 0 AND ip_version = 6");
  compare("src_mac_eq=02:00:00:00:00:02", "src_mac = '02:00:00:00:00:02'");
  compare("tunnel_type_eq=TUNNEL_VXLAN", "tunnel_type = 2");
  compare("vlan_eq=[100]", "vlan = '[100]'");
  compare("q=tls", "community_id LIKE '%tls%' OR app_proto LIKE '%tls%'");
  compare("id=5&id=7&id=9", "id IN (5, 7, 9)");
  compare("agent_id_eq=agent-1&src_port_lt=40010", "agent_id = 'agent-1' AND src_port < 40010");
}

TEST_F(Api, SortAndPagingMatchSql) {
  auto r = get("/api/v1/flow?_sort=src_ip_bytes&_order=desc&_start=40&_end=60&_fields=id,src_ip_bytes");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  std::string ids;
  for (const auto& row : json::parse(r->body)) ids += std::to_string(row["id"].get<int64_t>()) + "\n";
  EXPECT_EQ(testing::trim(ids),
            sqlite(db_, "SELECT id FROM flow ORDER BY src_ip_bytes DESC, id DESC LIMIT 20 OFFSET 40"));
  EXPECT_EQ(r->get_header_value("X-Total-Count"), std::to_string(kFlows));
  EXPECT_NE(r->get_header_value("Access-Control-Expose-Headers").find("X-Total-Count"), std::string::npos);
  // _limit/_page form.
  auto p = get_json("/api/v1/flow?_sort=ts&_order=asc&_limit=7&_page=3&_fields=id");
  std::string ids2;
  for (const auto& row : p) ids2 += std::to_string(row["id"].get<int64_t>()) + "\n";
  EXPECT_EQ(testing::trim(ids2), sqlite(db_, "SELECT id FROM flow ORDER BY ts, id LIMIT 7 OFFSET 14"));
}

TEST_F(Api, AggregationMatchesSql) {
  auto a = get_json(
      "/api/v1/flow/aggregate?group_by=dst_port&metrics=count,sum:src_ip_bytes,avg:rtt_us,max:dst_ip_bytes"
      "&_sort=dst_port&_order=asc&ip_version_eq=4");
  std::string got;
  for (const auto& row : a) {
    char avg[64];
    std::snprintf(avg, sizeof avg, "%.3f", row["avg:rtt_us"].get<double>());
    got += std::to_string(row["dst_port"].get<int64_t>()) + "|" + std::to_string(row["count"].get<int64_t>()) +
           "|" + std::to_string(row["sum:src_ip_bytes"].get<int64_t>()) + "|" + avg + "|" +
           std::to_string(row["max:dst_ip_bytes"].get<int64_t>()) + "\n";
  }
  EXPECT_EQ(testing::trim(got),
            sqlite(db_, "SELECT dst_port, COUNT(*), SUM(src_ip_bytes), printf('%.3f', AVG(rtt_us)), "
                        "MAX(dst_ip_bytes) FROM flow WHERE ip_version = 4 GROUP BY dst_port ORDER BY dst_port"));
  // Top talkers by bytes, two group columns, limited.
  auto t = get_json("/api/v1/flow/aggregate?group_by=src_ip,app_proto&metrics=sum:src_ip_bytes&_limit=5");
  std::string top;
  for (const auto& row : t)
    top += row["src_ip"].get<std::string>() + "|" + row["app_proto"].get<std::string>() + "|" +
           std::to_string(row["sum:src_ip_bytes"].get<int64_t>()) + "\n";
  EXPECT_EQ(testing::trim(top),
            sqlite(db_, "SELECT src_ip, app_proto, SUM(src_ip_bytes) AS s FROM flow GROUP BY src_ip, app_proto "
                        "ORDER BY s DESC, src_ip, app_proto LIMIT 5"));
  // Time buckets of 5 minutes.
  auto b = get_json("/api/v1/flow/aggregate?bucket=5m&metrics=count&app_proto_eq=tls");
  std::string counts;
  for (const auto& row : b) counts += std::to_string(row["count"].get<int64_t>()) + "\n";
  EXPECT_EQ(testing::trim(counts),
            sqlite(db_, "SELECT COUNT(*) FROM flow WHERE app_proto = 'tls' GROUP BY ts / 300000000000 "
                        "ORDER BY ts / 300000000000"));
  ASSERT_FALSE(b.empty());
  EXPECT_EQ(b[0]["bucket"], "2023-11-14T22:10:00Z");
}

TEST_F(Api, ValuesAreRenderedFromTheSchema) {
  std::string id = sqlite(db_, "SELECT id FROM flow WHERE community_id = 'agent-1:1:66'");
  auto f = get_json("/api/v1/flow/" + id);
  EXPECT_EQ(f["src_ip"], "10.0.2.4");
  EXPECT_EQ(f["dst_ip"], "192.168.1.1");
  EXPECT_EQ(f["src_mac"], "02:00:00:00:00:00");
  EXPECT_EQ(f["end_reason"], "END_FIN");  // 66 % 7 = 3
  EXPECT_EQ(f["vlan"], json::array({100}));
  EXPECT_EQ(f["tunnel_type"], "TUNNEL_VXLAN");
  EXPECT_EQ(f["ts"], "2023-11-14T22:21:02.000081642Z");
  EXPECT_EQ(f["agent_id"], "agent-1");
  EXPECT_TRUE(f["ts_end"].is_null());
  auto d = get_json("/api/v1/dns?_limit=1&_sort=id");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0]["answers"][0]["ttl"], 300);
  EXPECT_EQ(d[0]["anomalies"], json::array({"DNS_TRAILING_BYTES"}));
  EXPECT_EQ(d[0]["has_query"], false);
  get_json("/api/v1/flow/999999", 404);
  get_json("/api/v1/nosuch", 404);
}

// A JSON column that does not parse can only come from a damaged store: the
// API says so (500, naming resource, row and field) instead of returning the
// text as a string where an array belongs.
TEST_F(Api, DamagedJsonColumnIsAnErrorNotAString) {
  const std::string id = sqlite(db_, "SELECT MIN(id) FROM dns");
  const std::string saved = sqlite(db_, "SELECT answers FROM dns WHERE id = " + id);
  sqlite(db_, "UPDATE dns SET answers = '[{\"ttl\":30' WHERE id = " + id);
  auto j = get_json("/api/v1/dns/" + id, 500);
  sqlite(db_, "UPDATE dns SET answers = '" + saved + "' WHERE id = " + id);
  ASSERT_TRUE(j.is_object()) << j.dump();
  const std::string err = j.value("error", "");
  EXPECT_NE(err.find("dns row " + id), std::string::npos) << err;
  EXPECT_NE(err.find("'answers'"), std::string::npos) << err;
  EXPECT_EQ(sqlite(db_, "SELECT answers FROM dns WHERE id = " + id), saved);
  get_json("/api/v1/dns/" + id, 200);
}

TEST_F(Api, HostileQueriesAreRejectedAndChangeNothing) {
  std::string before = sqlite(db_, "SELECT (SELECT COUNT(*) FROM flow) || '/' || (SELECT COUNT(*) FROM dns)");
  struct Case {
    std::string query;
    int status;
    std::string names;  // the error must name this
  };
  std::string deep_in = "dst_port_in=1";
  for (int i = 2; i <= 101; ++i) deep_in += "," + std::to_string(i);
  std::string huge(5000, 'a');
  const Case cases[] = {
      {"src_ip_eq=1.1.1.1'%20OR%20'1'='1", 400, "src_ip"},
      {"_sort=id;DROP%20TABLE%20flow", 400, "_sort"},
      {"_sort=id%20UNION%20SELECT%20*%20FROM%20_tokens", 400, "_sort"},
      {"src_port_eq=99999999999999999999999", 400, "src_port"},
      {"src_port_eq=-1", 400, "src_port"},
      {"src_port_eq=1e3", 400, "src_port"},
      {"nosuch_eq=1", 400, "nosuch_eq"},
      {"src_port_like=1", 400, "src_port"},
      {"src_port_regex=1", 400, "src_port_regex"},
      {"\"id\"=1", 400, "\"id\""},
      {"id%20OR%201=1", 400, "id OR 1"},
      {deep_in, 400, "dst_port_in"},
      {"_end=100000", 400, "page"},
      {"_start=-5", 400, "_start"},
      {"_order=sideways", 400, "_order"},
      {"_fields=id,password", 400, "password"},
      {"ts_gte=yesterday", 400, "ts"},
      {"ts_gte=99999999999999", 400, "ts"},
      {"end_reason_eq=END_NOPE", 400, "end_reason"},
      {"app_proto_eq=" + huge, 400, "app_proto"},
      {"app_proto_eq=x'%20OR%201=1--", 200, ""},
      {"app_proto_like=%25';%20DROP%20TABLE%20flow;--", 200, ""},
      {"q=')%20UNION%20SELECT%20hash,1,1%20FROM%20_tokens--", 200, ""},
      {"community_id_eq=/*", 200, ""},
  };
  for (const auto& c : cases) {
    auto r = get("/api/v1/flow?" + c.query);
    ASSERT_TRUE(r) << c.query;
    EXPECT_EQ(r->status, c.status) << c.query << "\n" << r->body;
    auto j = json::parse(r->body, nullptr, false);
    if (c.status == 400) {
      ASSERT_TRUE(j.is_object()) << r->body;
      EXPECT_NE(j["error"].get<std::string>().find(c.names), std::string::npos)
          << c.query << " -> " << j["error"];
    } else {
      EXPECT_EQ(j, json::array()) << c.query;
    }
  }
  auto agg = get("/api/v1/flow/aggregate?metrics=sum:app_proto");
  EXPECT_EQ(agg->status, 400);
  agg = get("/api/v1/flow/aggregate?group_by=src_ip;DROP");
  EXPECT_EQ(agg->status, 400);
  agg = get("/api/v1/flow/aggregate?bucket=1y");
  EXPECT_EQ(agg->status, 400);
  EXPECT_EQ(sqlite(db_, "SELECT (SELECT COUNT(*) FROM flow) || '/' || (SELECT COUNT(*) FROM dns)"), before);
  EXPECT_EQ(sqlite(db_, "PRAGMA integrity_check"), "ok");
}

TEST_F(Api, TokensAreRequired) {
  auto r = get("/api/v1/flow", false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  httplib::Client cli("127.0.0.1", collector_->api_port);
  cli.set_bearer_token_auth("tpr_wrong");
  EXPECT_EQ(cli.Get("/api/v1/flow")->status, 401);
  EXPECT_EQ(cli.Get("/api/v1/schema")->status, 401);
  httplib::Client basic("127.0.0.1", collector_->api_port);
  basic.set_basic_auth("admin", token_.c_str());
  EXPECT_EQ(basic.Get("/api/v1/flow")->status, 401);
  // The store keeps only a hash of the token.
  EXPECT_EQ(sqlite(db_, "SELECT COUNT(*) FROM _tokens WHERE hash LIKE '%" + token_ + "%'"), "0");
  EXPECT_EQ(sqlite(db_, "SELECT COUNT(*) FROM _tokens"), "1");
  httplib::Client open("127.0.0.1", collector_->api_port);
  EXPECT_EQ(open.Get("/healthz")->status, 200);
  EXPECT_EQ(open.Get("/metrics")->status, 200);
}

TEST_F(Api, SchemaAndOpenApiCoverEveryEventField) {
  auto schema = get_json("/api/v1/schema");
  auto openapi = get_json("/api/v1/openapi.json");
  EXPECT_EQ(openapi["openapi"], "3.0.3");
  const auto* oneof = v1::Event::descriptor()->FindOneofByName("body");
  for (int i = 0; i < oneof->field_count(); ++i) {
    std::string res = oneof->field(i)->name();
    json fields;
    for (const auto& r : schema["resources"])
      if (r["name"] == res) fields = r["fields"];
    ASSERT_TRUE(fields.is_array()) << res;
    std::vector<std::string> paths;
    testing::leaf_paths(oneof->field(i)->message_type(), "", 0, paths);
    std::string cap = res;
    cap[0] = static_cast<char>(std::toupper(cap[0]));
    const auto& props = openapi["components"]["schemas"][cap]["properties"];
    for (const auto& p : paths) {
      bool found = false;
      for (const auto& f : fields)
        if (f["name"] == p) {
          found = true;
          EXPECT_FALSE(f["description"].get<std::string>().empty()) << res << "." << p;
          EXPECT_FALSE(f["operators"].empty()) << res << "." << p;
        }
      EXPECT_TRUE(found) << "schema lacks " << res << "." << p;
      EXPECT_TRUE(props.contains(p)) << "openapi lacks " << res << "." << p;
    }
    EXPECT_TRUE(openapi["paths"].contains("/api/v1/" + res)) << res;
    EXPECT_TRUE(openapi["paths"].contains("/api/v1/" + res + "/aggregate")) << res;
  }
  // Enum values and operators per type.
  for (const auto& r : schema["resources"]) {
    if (r["name"] != "flow") continue;
    for (const auto& f : r["fields"]) {
      if (f["name"] == "end_reason") {
        EXPECT_EQ(f["enum"][3]["name"], "END_FIN");
      } else if (f["name"] == "src_port") {
        EXPECT_EQ(f["operators"], json({"eq", "ne", "lt", "lte", "gt", "gte", "in"}));
      } else if (f["name"] == "src_ip") {
        EXPECT_EQ(f["format"], "ip");
      }
    }
  }
}

TEST_F(Api, LiveTailDeliversNewEvents) {
  std::atomic<bool> got{false};
  std::string received;
  std::thread tail([&] {
    httplib::Client cli("127.0.0.1", collector_->api_port);
    cli.set_bearer_token_auth(token_.c_str());
    cli.set_read_timeout(20, 0);
    cli.Get("/api/v1/flow/stream?dst_port_eq=443", [&](const char* data, size_t n) {
      received.append(data, n);
      if (received.find("agent-1:99:") != std::string::npos) {
        got = true;
        return false;
      }
      return true;
    });
  });
  // Let the tail connect and note the newest id, then send.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto r = testing::send_batches(testing::agent_channel(collector_->grpc_target(), nullptr, ""),
                                 {testing::flow_batch("agent-1", 99, 5000, 10)});
  ASSERT_TRUE(r.status.ok());
  tail.join();
  EXPECT_TRUE(got) << received;
  EXPECT_NE(received.find("event: flow\n"), std::string::npos);
  // Only the filtered events: ports 443 among 5000..5009 are i % 5 == 2.
  EXPECT_EQ(received.find("\"dst_port\":80"), std::string::npos);
}

TEST_F(Api, LiveTailOfSeveralTypes) {
  std::atomic<bool> flow_seen{false}, dns_seen{false};
  std::string received;
  std::thread tail([&] {
    httplib::Client cli("127.0.0.1", collector_->api_port);
    cli.set_bearer_token_auth(token_.c_str());
    cli.set_read_timeout(20, 0);
    cli.Get("/api/v1/stream?types=flow,dns", [&](const char* data, size_t n) {
      received.append(data, n);
      flow_seen = received.find("agent-1:98:") != std::string::npos;
      dns_seen = received.find("event: dns\n") != std::string::npos;
      return !(flow_seen && dns_seen);
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  v1::EventBatch b = testing::flow_batch("agent-1", 98, 6000, 2);
  testing::fill_dns(b.add_events()->mutable_dns(), 1);
  ASSERT_TRUE(testing::send_batches(testing::agent_channel(collector_->grpc_target(), nullptr, ""), {b}).status.ok());
  tail.join();
  EXPECT_TRUE(flow_seen && dns_seen) << received;
  // Filters need exactly one type; unknown types are named.
  EXPECT_EQ(get("/api/v1/stream?types=flow,dns&dst_port_eq=53")->status, 400);
  auto r = get("/api/v1/stream?types=flow,nosuch");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("nosuch"), std::string::npos);
}

TEST_F(Api, QueryCommandPrintsWhatTheApiHas) {
  int st = 0;
  std::string out = testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir query flow --where 'dst_port=443' "
                                            "--where 'src_ip_bytes>=50000' --sort id --order asc --limit 5 "
                                            "--fields id,src_ip,src_ip_bytes --format csv --url ") +
                                    collector_->api_url() + " --token " + token_,
                                &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(testing::trim(out),
            "id,src_ip,src_ip_bytes\n" +
                sqlite(db_, "SELECT id || ',' || src_ip || ',' || src_ip_bytes FROM flow WHERE dst_port = 443 "
                            "AND src_ip_bytes >= 50000 ORDER BY id LIMIT 5"));
  std::string bad = testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir query flow --where 'nosuch=1' --url ") +
                                    collector_->api_url() + " --token " + token_ + " 2>&1",
                                &st);
  EXPECT_NE(st, 0);
  EXPECT_NE(bad.find("nosuch"), std::string::npos) << bad;
}

}  // namespace
}  // namespace tapir

namespace tapir {
namespace {

// The same API over HTTPS with the collector's certificate; a client that
// does not trust the CA is refused at the handshake.
TEST(ApiHttps, ServesOverTlsWithTheCollectorCertificate) {
  std::string dir = testing::temp_dir("api-https");
  auto certs = testing::Certs::make(dir);
  testing::CollectorProcess c(dir + "/h.db", {"--insecure", "--api-cert", certs.cert("server"), "--api-key",
                                              certs.key("server"), "--api-header-timeout", "1s"});
  ASSERT_TRUE(c.start()) << c.output();
  EXPECT_NE(c.output().find("API on https://"), std::string::npos) << c.output();
  int st = 0;
  std::string token = testing::trim(testing::sh(std::string(TAPIR_BINARY_DIR "/apps/tapir/tapir token create --db ") +
                                                dir + "/h.db --name t", &st));
  ASSERT_EQ(st, 0);
  ASSERT_TRUE(testing::send_batches(testing::agent_channel(c.grpc_target(), nullptr, ""),
                                    {testing::flow_batch("agent-1", 1, 0, 30)})
                  .status.ok());
  httplib::SSLClient cli("localhost", c.api_port);
  cli.set_ca_cert_path(certs.ca().c_str());
  cli.enable_server_certificate_verification(true);
  cli.set_bearer_token_auth(token.c_str());
  // The certificate names localhost; the API listens on 127.0.0.1.
  auto r = cli.Get("/api/v1/flow?dst_port_eq=443&_fields=id");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("X-Total-Count"),
            testing::sqlite(dir + "/h.db", "SELECT COUNT(*) FROM flow WHERE dst_port = 443"));
  // A connection that never sends its ClientHello is closed by the header timeout.
  int silent = testing::connect_from("127.0.0.1", c.api_port);
  ASSERT_GE(silent, 0);
  EXPECT_TRUE(testing::peer_closed(silent, 30000));
  ::close(silent);
  httplib::SSLClient stranger("localhost", c.api_port);
  stranger.set_ca_cert_path(certs.cert("rogue-ca").c_str());
  stranger.enable_server_certificate_verification(true);
  EXPECT_FALSE(stranger.Get("/healthz"));
}

}  // namespace
}  // namespace tapir

namespace tapir {
namespace {

// The UI's files: index.html at /, assets by path, client-side routes fall
// back to index.html, missing assets and escapes from the directory are 404.
TEST(ApiStatic, ServesTheUiWithSinglePageFallback) {
  std::string dir = testing::temp_dir("api-static");
  std::filesystem::create_directories(dir + "/ui/assets");
  std::ofstream(dir + "/ui/index.html") << "<!doctype html><title>tapir</title>";
  std::ofstream(dir + "/ui/assets/app.js") << "console.log(1);";
  std::ofstream(dir + "/secret.txt") << "not for the web";
  testing::CollectorProcess c(dir + "/s.db", {"--insecure", "--ui", dir + "/ui", "--api-idle-timeout", "1s"});
  ASSERT_TRUE(c.start()) << c.output();
  httplib::Client cli("127.0.0.1", c.api_port);
  auto index = cli.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->body, "<!doctype html><title>tapir</title>");
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html");
  auto js = cli.Get("/assets/app.js");
  ASSERT_TRUE(js);
  EXPECT_EQ(js->status, 200);
  EXPECT_EQ(js->body, "console.log(1);");
  EXPECT_EQ(js->get_header_value("Content-Type"), "text/javascript");
  auto route = cli.Get("/flows/42/show");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->status, 200);
  EXPECT_EQ(route->body, index->body);
  EXPECT_EQ(cli.Get("/assets/missing.js")->status, 404);
  for (const char* escape : {"/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt"}) {
    auto r = cli.Get(escape);
    ASSERT_TRUE(r) << escape;
    EXPECT_NE(r->body, "not for the web") << escape;
  }
  // The API itself is still behind its token; other methods are refused.
  EXPECT_EQ(cli.Get("/api/v1/flow")->status, 401);
  EXPECT_EQ(cli.Post("/api/v1/flow", "x", "text/plain")->status, 405);
  auto head = cli.Head("/healthz");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  auto options = cli.Options("/api/v1/flow");
  ASSERT_TRUE(options);
  EXPECT_EQ(options->status, 204);
  EXPECT_EQ(options->get_header_value("Access-Control-Allow-Origin"), "*");
  // A keep-alive connection is served, then closed once idle for the idle timeout.
  int fd = testing::connect_from("127.0.0.1", c.api_port);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(testing::send_all(fd, testing::get_request("/healthz")));
  auto r = testing::read_reply(fd);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  EXPECT_TRUE(testing::peer_closed(fd, 30000));
  ::close(fd);
}

}  // namespace
}  // namespace tapir
