// HTTP/1.x framing units (RFC 9112 message layouts), each fed whole and one
// byte at a time: the result must not depend on how the stream was cut.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "analyzers/http/parser.h"

namespace tapir::analyzers::http {
namespace {

struct Message {
  std::string start;  // "GET / 1.1" or "1.1 200 OK"
  std::vector<std::pair<std::string, std::string>> headers;
  uint64_t body = 0;
  bool done = false;
};

struct Recorder : Handler {
  std::vector<Message> msgs;
  std::vector<std::string> anomalies;
  bool head_response = false;

  Message& cur() {
    if (msgs.empty() || msgs.back().done) msgs.emplace_back();
    return msgs.back();
  }
  void on_request_line(std::string_view m, std::string_view u, std::string_view v) override {
    msgs.emplace_back();
    msgs.back().start = std::string(m) + " " + std::string(u) + " " + std::string(v);
  }
  void on_status_line(std::string_view v, uint32_t s, std::string_view r) override {
    msgs.emplace_back();
    msgs.back().start = std::string(v) + " " + std::to_string(s) + " " + std::string(r);
  }
  void on_header(std::string_view n, std::string_view v) override {
    cur().headers.emplace_back(n, v);
  }
  bool on_headers_done() override { return head_response; }
  void on_body(size_t len) override { cur().body += len; }
  void on_message_done() override { cur().done = true; }
  void on_anomaly(std::string_view what) override { anomalies.emplace_back(what); }
};

Recorder run(MessageParser::Kind kind, const std::string& s, bool bytewise, bool end = true) {
  Recorder r;
  MessageParser p(kind, r);
  const auto* d = reinterpret_cast<const uint8_t*>(s.data());
  if (bytewise) {
    for (size_t i = 0; i < s.size(); ++i) p.feed(d + i, 1);
  } else {
    p.feed(d, s.size());
  }
  if (end) p.end();
  return r;
}

class Both : public ::testing::TestWithParam<bool> {};

TEST_P(Both, PipelinedRequests) {
  const std::string s =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "GET /c HTTP/1.0\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, GetParam());
  ASSERT_EQ(r.msgs.size(), 3u);
  EXPECT_EQ(r.msgs[0].start, "GET /a 1.1");
  EXPECT_EQ(r.msgs[1].start, "POST /b 1.1");
  EXPECT_EQ(r.msgs[1].body, 5u);
  EXPECT_EQ(r.msgs[2].start, "GET /c 1.0");
  for (const auto& m : r.msgs) EXPECT_TRUE(m.done);
  EXPECT_TRUE(r.anomalies.empty());
}

TEST_P(Both, ChunkedWithExtensionsAndTrailers) {
  const std::string s =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "A\r\n0123456789\r\n"
      "0\r\nX-Trailer: 1\r\n\r\n"
      "HTTP/1.1 204 No Content\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kResponse, s, GetParam());
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_EQ(r.msgs[0].body, 15u);
  EXPECT_TRUE(r.msgs[0].done);
  EXPECT_EQ(r.msgs[1].start, "1.1 204 No Content");
  EXPECT_TRUE(r.msgs[1].done);
  EXPECT_TRUE(r.anomalies.empty());
}

TEST_P(Both, InterimAndUntilClose) {
  const std::string s =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until close";
  const Recorder r = run(MessageParser::Kind::kResponse, s, GetParam());
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_EQ(r.msgs[0].start, "1.1 100 Continue");
  EXPECT_TRUE(r.msgs[0].done);
  EXPECT_EQ(r.msgs[1].body, 16u);
  EXPECT_TRUE(r.msgs[1].done);  // completed by end()
}

TEST_P(Both, ChunkSizeOverflowReportedAndParsingGoesOn) {
  // zeek http/261 variant 01: 2^64 as a chunk size.
  const std::string s =
      "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n"
      "10000000000000000\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, GetParam());
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_EQ(r.msgs[1].start, "GET /smuggled 1.1");
  ASSERT_EQ(r.anomalies.size(), 1u);
  EXPECT_EQ(r.anomalies[0], "bad chunk size");
}

TEST_P(Both, HeadResponseHasNoBody) {
  Recorder r;
  r.head_response = true;
  MessageParser p(MessageParser::Kind::kResponse, r);
  const std::string s =
      "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 404 Not Found\r\n"
      "Content-Length: 0\r\n\r\n";
  const auto* d = reinterpret_cast<const uint8_t*>(s.data());
  if (GetParam()) {
    for (size_t i = 0; i < s.size(); ++i) p.feed(d + i, 1);
  } else {
    p.feed(d, s.size());
  }
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_EQ(r.msgs[0].body, 0u);
  EXPECT_EQ(r.msgs[1].start, "1.1 404 Not Found");
}

TEST_P(Both, FramingConflictsReported) {
  const std::string s =
      "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, GetParam());
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_TRUE(r.msgs[0].done);
  EXPECT_EQ(r.anomalies,
            (std::vector<std::string>{"conflicting Content-Length headers",
                                      "both Content-Length and chunked"}));
}

// Requests smuggled behind Transfer-Encoding values that two servers can
// frame differently (RFC 9112 6.1 and 6.3). Each is decoded as chunked, as
// Zeek does, so the request after the chunked body is seen; the anomalies
// say why another server might not have seen it.
struct SmuggleCase {
  const char* name;
  const char* framing;  // header lines between the request line and the blank line
  std::vector<std::string> anomalies;
};

void PrintTo(const SmuggleCase& c, std::ostream* os) { *os << c.name; }

class Smuggling : public ::testing::TestWithParam<std::tuple<SmuggleCase, bool>> {};

TEST_P(Smuggling, ChunkedBodyThenSmuggledRequest) {
  const auto& [c, bytewise] = GetParam();
  const std::string s = std::string("POST / HTTP/1.1\r\nHost: target\r\n") + c.framing +
                        "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, bytewise);
  ASSERT_EQ(r.msgs.size(), 2u);
  EXPECT_TRUE(r.msgs[0].done);
  EXPECT_EQ(r.msgs[0].body, 0u);
  EXPECT_EQ(r.msgs[1].start, "GET /smuggled 1.1");
  EXPECT_TRUE(r.msgs[1].done);
  EXPECT_EQ(r.anomalies, c.anomalies);
}

const SmuggleCase kSmuggleCases[] = {
    {"chunked_twice", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
     {"multiple Transfer-Encoding headers", "multiple transfer codings",
      "chunked applied more than once"}},
    // Zeek http/261 variant 10 (HTTP_chunked_multi, addl ", identity").
    {"chunked_identity", "Transfer-Encoding: chunked, identity\r\n",
     {"multiple transfer codings", "chunked is not the final transfer coding"}},
    // The same list over two lines (RFC 9110 5.3: one field, in order).
    {"chunked_then_identity_line",
     "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
     {"multiple Transfer-Encoding headers", "multiple transfer codings",
      "chunked is not the final transfer coding"}},
    {"gzip_chunked", "Transfer-Encoding: gzip, chunked\r\n", {"multiple transfer codings"}},
    // Zeek: HTTP_content_length_and_chunked. The Content-Length would swallow
    // the smuggled request as body.
    {"content_length_and_chunked", "Content-Length: 45\r\nTransfer-Encoding: chunked\r\n",
     {"both Content-Length and chunked"}},
    {"chunked_mixed_case", "transfer-encoding: ChUnKeD\r\n", {}},
};

INSTANTIATE_TEST_SUITE_P(TransferEncoding, Smuggling,
                         ::testing::Combine(::testing::ValuesIn(kSmuggleCases), ::testing::Bool()),
                         [](const auto& p) {
                           return std::string(std::get<0>(p.param).name) +
                                  (std::get<1>(p.param) ? "_bytewise" : "_whole");
                         });

TEST(HttpParser, TransferEncodingInHttp10) {
  // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
  const Recorder r = run(MessageParser::Kind::kRequest,
                         "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
                         false);
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_EQ(r.msgs[0].body, 3u);
  EXPECT_EQ(r.anomalies, std::vector<std::string>{"Transfer-Encoding in an HTTP/1.0 message"});
}

TEST(HttpParser, StatusLineDetection) {
  auto yes = [](const std::string& s) {
    return looks_like_status_line(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_TRUE(yes("HTTP/1.1 200 OK\r\n"));
  EXPECT_TRUE(yes("HTTP/1.0 404 Not Found\r\n"));
  EXPECT_TRUE(yes("HTTP/1.1 204\r\n\r\n"));
  EXPECT_FALSE(yes("HTTP/1.1 2000 OK\r\n"));
  EXPECT_FALSE(yes("HTTP/1.1 600 Nope\r\n"));
  EXPECT_FALSE(yes("HTTP/2 200 OK\r\n\r\n"));
  EXPECT_FALSE(yes("RTSP/1.0 200 OK\r\n"));
  EXPECT_FALSE(yes("HTTP/1.1 20"));
}

INSTANTIATE_TEST_SUITE_P(Feeds, Both, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "bytewise" : "whole"; });

TEST(HttpParser, HeaderCountBounded) {
  std::string s = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < kMaxHeaders + 50; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
  s += "\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, false);
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_EQ(r.msgs[0].headers.size(), static_cast<size_t>(kMaxHeaders));
  EXPECT_EQ(r.anomalies, (std::vector<std::string>{"too many header fields"}));
}

TEST(HttpParser, LongLineCut) {
  const std::string s = "GET /" + std::string(kMaxLineLen * 2, 'a') + " HTTP/1.1\r\n\r\n";
  const Recorder r = run(MessageParser::Kind::kRequest, s, false);
  // The cut line loses its version, so it is no longer a request line.
  EXPECT_FALSE(r.anomalies.empty());
  EXPECT_EQ(r.anomalies[0], "start line too long");
}

TEST(HttpParser, NotHttp) {
  const Recorder r = run(MessageParser::Kind::kRequest, "\x16\x03\x01 binary\r\n", false);
  EXPECT_TRUE(r.msgs.empty());
  EXPECT_EQ(r.anomalies, (std::vector<std::string>{"not an HTTP request line"}));
  const std::string get = "GET / HTTP/1.1\r\n";
  EXPECT_TRUE(looks_like_request(reinterpret_cast<const uint8_t*>(get.data()), get.size()));
  const std::string tls = "\x16\x03\x01";
  EXPECT_FALSE(looks_like_request(reinterpret_cast<const uint8_t*>(tls.data()), tls.size()));
}

TEST(HttpParser, CutShortReported) {
  const Recorder r =
      run(MessageParser::Kind::kRequest, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", false);
  ASSERT_EQ(r.msgs.size(), 1u);
  EXPECT_EQ(r.msgs[0].body, 3u);
  EXPECT_FALSE(r.msgs[0].done);
  EXPECT_EQ(r.anomalies, (std::vector<std::string>{"message cut short"}));
}

}  // namespace
}  // namespace tapir::analyzers::http
