// HTTP analyzer against the corpus oracles: every capture with a tshark HTTP
// table, and every Zeek http.log.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "corpus_util.h"

namespace tapir {
namespace {

using testing::corpus_path;
using testing::read_tsv;
using testing::Row;
using testing::run_engine;

const char* const kHttpCaptures[] = {
    "suricata-verify/bug-814/input",
    "suricata-verify/decode-teredo-01/input",
    "tcpdump/ipv4_tcp_http_xml/ipv4_tcp_http_xml",
    "zeek/http-vlan-0/http-vlan-0",
    "zeek/http__100-continue/100-continue",
    "zeek/http__261__variant-01-chunk_2pow64_overflow/variant-01-chunk_2pow64_overflow",
    "zeek/http__261__variant-10-multi_value_te/variant-10-multi_value_te",
    "zeek/http__get/get",
    "zeek/tunnels__Teredo/Teredo",
    "zeek/tunnels__gre-over-udp-4754/gre-over-udp-4754",
    "zeek/vlan-qinqinq/vlan-qinqinq",
};

// Where Tapir deliberately differs from tshark, and why.
const std::map<std::string, std::string> kTsharkDifferences = {
    {"zeek/http__261__variant-01-chunk_2pow64_overflow/variant-01-chunk_2pow64_overflow",
     "tshark reads the bytes after the bad chunk size as body; Tapir (like Zeek, whose "
     "http.log is checked below) ends the message there and sees the smuggled second request"},
};

std::vector<v1::Http> http_events(const std::string& pcap) {
  std::string err;
  auto events = run_engine(pcap, {"http"}, &err);
  EXPECT_EQ(err, "") << pcap;
  std::vector<v1::Http> out;
  for (auto& e : events)
    if (e.has_http()) out.push_back(e.http());
  return out;
}

std::string pcap_of(const std::string& stem) {
  for (const char* ext : {".pcap", ".pcapng"}) {
    const std::string p = corpus_path(stem + ext);
    if (std::filesystem::exists(p)) return p;
  }
  return corpus_path(stem + ".pcap");
}

// Events of one connection (client port, server port) in request order.
std::vector<const v1::Http*> conn_events(const std::vector<v1::Http>& ev, uint32_t cport,
                                         uint32_t sport) {
  std::vector<const v1::Http*> out;
  for (const auto& h : ev)
    if (h.src().port() == cport && h.dst().port() == sport) out.push_back(&h);
  std::sort(out.begin(), out.end(),
            [](auto* a, auto* b) { return a->trans_depth() < b->trans_depth(); });
  return out;
}

class TsharkHttp : public ::testing::TestWithParam<const char*> {};

TEST_P(TsharkHttp, RequestsAndResponsesMatchTshark) {
  const std::string stem = GetParam();
  const auto rows = read_tsv(corpus_path(stem + ".http.tsv"));
  ASSERT_FALSE(rows.empty());
  const auto ev = http_events(pcap_of(stem));
  const bool differs = kTsharkDifferences.count(stem) != 0;
  // Per connection: next request index and next response index.
  std::map<std::pair<std::string, std::string>, std::pair<size_t, size_t>> next;
  size_t requests = 0;
  for (const auto& r : rows) {
    const bool req = !r.at("http.request.method").empty();
    const bool resp = !r.at("http.response.code").empty();
    if (!req && !resp) continue;
    const std::string cport = req ? r.at("sport") : r.at("dport");
    const std::string sport = req ? r.at("dport") : r.at("sport");
    const auto list = conn_events(ev, static_cast<uint32_t>(std::stoul(cport)),
                                  static_cast<uint32_t>(std::stoul(sport)));
    auto& [ri, si] = next[{cport, sport}];
    SCOPED_TRACE(stem + " frame " + r.at("frame"));
    if (req) {
      // One frame can carry several requests: tshark joins their fields
      // with ',' (tokens) or ' | ' (free text).
      const auto methods = testing::split_str(r.at("http.request.method"), ",");
      const auto hosts = testing::split_str(r.at("http.host"), " | ");
      const auto uris = testing::split_str(r.at("http.request.uri"), " | ");
      const auto versions = testing::split_str(r.at("http.request.version"), ",");
      const auto agents = testing::split_str(r.at("http.user_agent"), " | ");
      for (size_t i = 0; i < methods.size(); ++i) {
        ++requests;
        ASSERT_LT(ri, list.size());
        const v1::Http& h = *list[ri++];
        EXPECT_EQ(h.method(), methods[i]);
        EXPECT_EQ(h.host(), i < hosts.size() ? hosts[i] : "");
        EXPECT_EQ(h.uri(), i < uris.size() ? uris[i] : "");
        EXPECT_EQ("HTTP/" + h.version(), i < versions.size() ? versions[i] : "");
        EXPECT_EQ(h.user_agent(), i < agents.size() ? agents[i] : "");
        if (i == 0) {
          EXPECT_EQ(h.request_chunked(),
                    r.at("http.transfer_encoding").find("chunked") != std::string::npos);
        }
      }
    } else {
      ASSERT_LT(si, list.size());
      const v1::Http& h = *list[si];
      const uint32_t code = static_cast<uint32_t>(std::stoul(r.at("http.response.code")));
      if (code >= 100 && code < 200 && code != 101) {
        EXPECT_NE(std::find(h.info_status().begin(), h.info_status().end(), code),
                  h.info_status().end());
        continue;
      }
      ++si;
      EXPECT_TRUE(h.has_response());
      EXPECT_EQ(h.status(), code);
      EXPECT_EQ(h.reason(), r.at("http.response.phrase"));
    }
  }
  // Transactions: requests, or responses whose request was not captured.
  size_t expected = 0;
  for (const auto& [k, v] : next) expected += std::max(v.first, v.second);
  if (differs) {
    EXPECT_GT(ev.size(), expected) << kTsharkDifferences.at(stem);
  } else {
    EXPECT_EQ(ev.size(), expected);
  }
  (void)requests;
}

INSTANTIATE_TEST_SUITE_P(Corpus, TsharkHttp, ::testing::ValuesIn(kHttpCaptures),
                         [](const auto& p) {
                           std::string n = p.param;
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

struct ZeekCase {
  const char* stem;
  const char* log;  // relative to the case folder
};

const ZeekCase kZeekCases[] = {
    {"zeek/http__100-continue/100-continue",
     "expected/scripts.base.protocols.http.100-continue/http.log"},
    {"zeek/http__get/get", "expected/core.tcp.reassembly-known-ports/http.log"},
    {"zeek/tunnels__Teredo/Teredo", "expected/core.tunnels.teredo/http.log"},
    {"zeek/tunnels__gre-over-udp-4754/gre-over-udp-4754",
     "expected/core.tunnels.gre-over-udp/http.log"},
    {"zeek/http__261__variant-01-chunk_2pow64_overflow/variant-01-chunk_2pow64_overflow",
     "expected/scripts.base.protocols.http.261.chunk-2pow64-overflow/http.log"},
    {"zeek/http__261__variant-10-multi_value_te/variant-10-multi_value_te",
     "expected/scripts.base.protocols.http.261.chunked-rest/http.log"},
};

// Where Tapir deliberately differs from Zeek's http.log, and why.
const std::map<std::string, std::string> kZeekDifferences = {
    {"C3eiCBGOLw3VtHfOj version",
     "Zeek overwrites the request's version with the reply's (HTTP/1.0 request, 1.1 reply); "
     "Tapir's version is the request's, as tshark and Suricata (http.protocol) report it"},
    {"CpmdRlaUoJLN3uIRa response_body_len",
     "gzip Content-Encoding: Zeek counts decoded bytes, Tapir the message body on the wire "
     "(after de-chunking), as Suricata's http.length (3651) does"},
    {"CNnMIj2QSd84NKf7U3",
     "IPv6 in Teredo to port 1286: Zeek decodes it; tshark and Suricata (decode-teredo-01) "
     "do not, and neither does Tapir's decoder, so there is no event to compare"},
};

// Zeek prints unset fields as "-", empty strings as "(empty)" or "<empty>".
std::string zeek_str(const std::string& s) { return s.empty() ? "-" : s; }

class ZeekHttp : public ::testing::TestWithParam<ZeekCase> {};

TEST_P(ZeekHttp, HttpLogMatches) {
  const ZeekCase& c = GetParam();
  const std::string dir = std::filesystem::path(corpus_path(c.stem)).parent_path().string();
  const auto rows = read_tsv(dir + "/" + c.log);
  ASSERT_FALSE(rows.empty());
  const auto ev = http_events(pcap_of(c.stem));
  size_t expected = 0;
  for (const auto& r : rows) expected += kZeekDifferences.count(r.at("uid")) ? 0 : 1;
  EXPECT_EQ(ev.size(), expected);
  for (const auto& r : rows) {
    if (kZeekDifferences.count(r.at("uid"))) continue;
    SCOPED_TRACE(std::string(c.stem) + " " + r.at("uid") + " depth " + r.at("trans_depth"));
    const uint32_t depth = static_cast<uint32_t>(std::stoul(r.at("trans_depth")));
    // Some baselines are cut to uid/trans_depth/method/host/uri (btest-diff-cut).
    const v1::Http* h = nullptr;
    for (const auto& e : ev) {
      if (e.trans_depth() != depth) continue;
      if (r.count("id.orig_p") && std::to_string(e.src().port()) != r.at("id.orig_p")) continue;
      h = &e;
    }
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->method(), r.at("method"));
    EXPECT_EQ(h->host(), r.at("host"));
    EXPECT_EQ(h->uri(), r.at("uri"));
    if (!r.count("status_code")) continue;
    EXPECT_EQ(zeek_str(h->referer()), r.at("referrer"));
    if (kZeekDifferences.count(r.at("uid") + " version")) {
      EXPECT_NE(h->version(), r.at("version"));
    } else {
      EXPECT_EQ(h->version(), r.at("version"));
    }
    EXPECT_EQ(zeek_str(h->user_agent()), r.at("user_agent"));
    EXPECT_EQ(std::to_string(h->request_body_len()), r.at("request_body_len"));
    if (kZeekDifferences.count(r.at("uid") + " response_body_len")) {
      EXPECT_EQ(h->response_body_len(), 3651u);
    } else {
      EXPECT_EQ(std::to_string(h->response_body_len()), r.at("response_body_len"));
    }
    EXPECT_EQ(std::to_string(h->status()), r.at("status_code"));
    EXPECT_EQ(h->reason().empty() ? "<empty>" : h->reason(), r.at("status_msg"));
    EXPECT_EQ(h->info_status().empty() ? "-" : std::to_string(h->info_status(0)),
              r.at("info_code"));
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, ZeekHttp, ::testing::ValuesIn(kZeekCases),
                         [](const auto& p) {
                           std::string n = std::filesystem::path(p.param.stem).filename();
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

// Zeek's weird.log names the framing damage of each smuggling trace; Tapir
// reports it in the anomalies of the transaction that carries it, and (like
// Zeek's http.log, checked above) still sees the smuggled request.
const std::map<std::string, std::string> kZeekWeirdToAnomaly = {
    {"HTTP_bad_chunk_size", "bad chunk size"},
    {"HTTP_chunked_multi", "multiple transfer codings"},
    {"HTTP_content_length_and_chunked", "both Content-Length and chunked"},
};

TEST(ZeekHttp, WeirdsAreAnomalies) {
  int compared = 0;
  for (const ZeekCase& c : kZeekCases) {
    const std::string dir = std::filesystem::path(corpus_path(c.stem)).parent_path().string();
    const std::string log = std::filesystem::path(dir + "/" + c.log).parent_path().string() +
                            "/weird.log";
    if (!std::filesystem::exists(log)) continue;
    const auto ev = http_events(pcap_of(c.stem));
    for (const auto& r : read_tsv(log)) {
      SCOPED_TRACE(std::string(c.stem) + " " + r.at("name"));
      ASSERT_TRUE(kZeekWeirdToAnomaly.count(r.at("name")));
      const std::string& want = kZeekWeirdToAnomaly.at(r.at("name"));
      ++compared;
      bool found = false;
      for (const auto& h : ev) {
        if (h.trans_depth() != 1) continue;  // the request whose framing is damaged
        EXPECT_EQ(h.method(), "POST");
        EXPECT_TRUE(h.request_chunked());
        found = std::find(h.anomalies().begin(), h.anomalies().end(), want) != h.anomalies().end();
      }
      EXPECT_TRUE(found) << want;
    }
  }
  EXPECT_EQ(compared, 2);
}

// Suricata's test.yaml checks on HTTP transactions (http and alert events
// carry the same http.* fields), matched by the client's port.
TEST(SuricataHttp, TestYamlChecks) {
  int compared = 0;
  for (const char* cs : {"bug-814", "decode-teredo-01"}) {
    const std::string dir = corpus_path(std::string("suricata-verify/") + cs);
    const auto ev = http_events(dir + "/input.pcap");
    for (const auto& d : std::filesystem::directory_iterator(dir + "/expected")) {
      for (const auto& checks : testing::suricata_filters(d.path().string() + "/test.yaml")) {
        if (!checks.count("http.http_method") || !checks.count("src_port")) continue;
        SCOPED_TRACE(std::string(cs) + " port " + checks.at("src_port"));
        // fileinfo events of a download go server to client.
        const uint32_t sp = static_cast<uint32_t>(std::stoul(checks.at("src_port")));
        const uint32_t dp = static_cast<uint32_t>(std::stoul(checks.at("dest_port")));
        auto list = conn_events(ev, sp, dp);
        if (list.empty()) list = conn_events(ev, dp, sp);
        ASSERT_FALSE(list.empty());
        const size_t tx = checks.count("tx_id") ? std::stoul(checks.at("tx_id")) : 0;
        ASSERT_LT(tx, list.size());
        const v1::Http& h = *list[tx];
        for (const auto& [k, v] : checks) {
          if (k.rfind("http.", 0) != 0) continue;
          ++compared;
          if (k == "http.hostname") {
            EXPECT_EQ(h.host(), v);
          } else if (k == "http.http_method") {
            EXPECT_EQ(h.method(), v);
          } else if (k == "http.url") {
            EXPECT_EQ(h.uri(), v);
          } else if (k == "http.protocol") {
            EXPECT_EQ("HTTP/" + h.version(), v);
          } else if (k == "http.http_user_agent") {
            EXPECT_EQ(h.user_agent(), v);
          } else if (k == "http.http_refer") {
            EXPECT_EQ(h.referer(), v);
          } else if (k == "http.http_content_type") {
            EXPECT_EQ(h.response_content_type(), v);
          } else if (k == "http.status") {
            EXPECT_EQ(std::to_string(h.status()), v);
          } else if (k == "http.length") {
            EXPECT_EQ(std::to_string(h.response_body_len()), v);
          } else {
            ADD_FAILURE() << "unhandled Suricata check " << k;
          }
        }
      }
    }
  }
  EXPECT_GE(compared, 20);
  std::printf("Suricata http checks compared: %d\n", compared);
}

}  // namespace
}  // namespace tapir
