// End to end with hostile text: tapir-agent replays the hostile capture of
// tests/hostile (invalid UTF-8, NUL, control bytes and over-long values in
// every text field from the wire) and then ordinary corpus captures to a
// tapir-collector over mutual TLS. One such packet used to make a batch the
// collector could not parse, and every later batch waited behind it. Now the
// query API must hold every event `tapir decode` makes of the same files,
// the hostile ones with their escaped text and anomaly flags.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "../hostile/capture.h"
#include "replay.h"
#include "schema/columns.h"

namespace tapir {
namespace {

namespace h = testing::hostile;

bool contains(const json& array, const std::string& v) {
  if (!array.is_array()) return false;
  return std::find(array.begin(), array.end(), json(v)) != array.end();
}

TEST(E2E, HostileTextIsStoredEscapedAndNothingWaitsBehindIt) {
  std::string dir = testing::temp_dir("e2e-hostile");
  auto certs = testing::Certs::make(dir);
  const std::string hostile = dir + "/hostile.pcap";
  ASSERT_TRUE(h::write(hostile));
  // Ordinary captures with the same event types, read after the hostile one.
  std::vector<std::string> files = {hostile};
  for (const char* f : {"zeek/http__get/get.pcap", "zeek/tls__tls1.2/tls1.2.pcap",
                        "tcpdump/edns-opts/edns-opts.pcap", "zeek/arp-leak/arp-leak.pcap",
                        "zeek/icmp__icmp6-ping/icmp6-ping.pcap",
                        "zeek/http__100-continue/100-continue.pcap",
                        "zeek/tls__tls-conn-with-extensions/tls-conn-with-extensions.pcap",
                        "suricata-verify/community-id-ipv6/input.pcap"})
    files.push_back(std::string(TAPIR_TESTDATA) + "/" + f);

  // What tapir decode makes of each file.
  std::map<std::string, size_t> lines;
  const Canon want = decoded_events(files, &lines);
  size_t ordinary = 0;
  for (const auto& [f, n] : lines) ordinary += f != hostile ? n : 0;
  ASSERT_GT(ordinary, 40u);

  Replay replay(dir, certs);
  replay.run(dir, certs, files);
  std::map<std::string, json> rows_of;
  for (const auto& r : schema::Model::get().resources()) {
    if (r.name == "agent" || r.name == "rejects") continue;
    rows_of[r.name] = replay.expect_same(r, want);
  }
  // Escaped at the source, nothing reached the collector's quarantine.
  EXPECT_TRUE(replay.rows("rejects").empty()) << replay.rows("rejects").dump();

  // The hostile events themselves, as the API returns them.
  const json* http = nullptr;
  for (const auto& row : rows_of["http"])
    if (row["dst_ip"] == "10.66.0.80" && row["host"] == h::text("host")) http = &row;
  ASSERT_NE(http, nullptr) << rows_of["http"].dump();
  EXPECT_EQ((*http)["uri"], "/uri" + h::escaped_damage() + "?q");
  EXPECT_EQ((*http)["user_agent"], h::text("ua"));
  EXPECT_EQ((*http)["reason"], h::text("reason"));
  EXPECT_TRUE(contains((*http)["anomalies"], "non-text bytes escaped")) << http->dump();

  const json* tls = nullptr;
  for (const auto& row : rows_of["tls"])
    if (row["sni"] == h::text("sni")) tls = &row;
  ASSERT_NE(tls, nullptr) << rows_of["tls"].dump();
  EXPECT_EQ((*tls)["alpn"], h::text("alpnsel"));
  EXPECT_EQ((*tls)["alpn_offered"], json::array({"h2", h::text("alpn1"), h::text("alpn2")}));
  EXPECT_EQ((*tls)["cert_san"], json::array({h::text("san1"), "ok.example"}));
  EXPECT_TRUE(contains((*tls)["anomalies"], "TLS_TEXT_ESCAPED")) << tls->dump();

  const json* dns = nullptr;
  for (const auto& row : rows_of["dns"])
    if (row["query"] == "q." + h::dns_label_text() + ".example") dns = &row;
  ASSERT_NE(dns, nullptr) << rows_of["dns"].dump();
  EXPECT_TRUE(contains((*dns)["anomalies"], "DNS_NON_TEXT_BYTES")) << dns->dump();

  // The text is searchable as escaped: the API's free-text search finds it.
  httplib::Client cli("127.0.0.1", replay.collector.api_port);
  cli.set_bearer_token_auth(replay.token.c_str());
  auto res = cli.Get("/api/v1/http?q=host%5Cxe4");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body).size(), 1u) << res->body;
}

}  // namespace
}  // namespace tapir
