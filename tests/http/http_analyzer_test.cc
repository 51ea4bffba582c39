// The HTTP analyzer through the real engine (decoder, flow table, TCP
// reassembly) on hand-built connections the corpus lacks: a response the
// capture sees before the client's handshake ACK and request, and requests
// smuggled behind Transfer-Encoding. Expected values are the ones written
// into the bytes; tshark reads the same cases the same way (see the comments).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "crafted_tcp.h"

namespace tapir {
namespace {

using tapir::testing::CraftedFrame;
using tapir::testing::TcpConversation;
namespace flag = tapir::testing::tcpflag;

constexpr int kClient = 0, kServer = 1;

const std::string kRequest = "GET /early HTTP/1.1\r\nHost: example.org\r\n\r\n";
const std::string kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

std::vector<v1::Http> http_of(const std::vector<CraftedFrame>& frames) {
  std::vector<v1::Http> out;
  for (auto& e : tapir::testing::run_frames(frames, {"http"}))
    if (e.has_http()) out.push_back(e.http());
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.trans_depth() < b.trans_depth(); });
  return out;
}

bool has_anomaly(const v1::Http& h, const std::string& what) {
  return std::find(h.anomalies().begin(), h.anomalies().end(), what) != h.anomalies().end();
}

class EarlyResponse : public ::testing::TestWithParam<uint16_t> {};

// SYN, SYN-ACK, then the server's response before the client's handshake ACK
// (and before any request), then the client's ACK and request. tshark lists
// the response (frame 3) and the request (frame 5) as two HTTP rows. The
// response must be reported whatever the port: it is the flow's first
// payload, and a flow is claimed by its first recognised payload.
TEST_P(EarlyResponse, ResponseBeforeHandshakeAckIsReported) {
  TcpConversation c(40000, GetParam());
  std::vector<CraftedFrame> f;
  f.push_back(c.segment(kClient, flag::kSyn));
  f.push_back(c.segment(kServer, flag::kSyn | flag::kAck));
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, kResponse));
  f.push_back(c.segment(kClient, flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh, kRequest));
  f.push_back(c.segment(kServer, flag::kAck | flag::kFin));
  f.push_back(c.segment(kClient, flag::kAck | flag::kFin));
  const auto ev = http_of(f);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_TRUE(ev[0].has_response());
  EXPECT_EQ(ev[0].status(), 200u);
  EXPECT_EQ(ev[0].reason(), "OK");
  EXPECT_EQ(ev[0].response_body_len(), 5u);
  EXPECT_EQ(ev[0].method(), "");
  EXPECT_TRUE(has_anomaly(ev[0], "response without a request"));
  EXPECT_EQ(ev[1].method(), "GET");
  EXPECT_EQ(ev[1].uri(), "/early");
  EXPECT_EQ(ev[1].host(), "example.org");
  EXPECT_FALSE(ev[1].has_response());
  // Client and server are those of the TCP handshake, not of the first payload.
  for (const auto& h : ev) {
    EXPECT_EQ(h.src().port(), 40000u);
    EXPECT_EQ(h.dst().port(), GetParam());
  }
}

// The request was sent first but the capture saw the response first (it
// acknowledges the request's bytes): both are still reported.
TEST_P(EarlyResponse, ResponseCapturedBeforeItsRequest) {
  TcpConversation c(40001, GetParam());
  std::vector<CraftedFrame> f;
  f.push_back(c.segment(kClient, flag::kSyn));
  f.push_back(c.segment(kServer, flag::kSyn | flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck));
  const CraftedFrame request = c.segment(kClient, flag::kAck | flag::kPsh, kRequest);
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, kResponse));
  f.push_back(request);
  f.push_back(c.segment(kClient, flag::kAck | flag::kFin));
  f.push_back(c.segment(kServer, flag::kAck | flag::kFin));
  const auto ev = http_of(f);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].status(), 200u);
  EXPECT_EQ(ev[1].uri(), "/early");
}

// 80 is claimed by port; 5000 and 8081 only by content.
INSTANTIATE_TEST_SUITE_P(Ports, EarlyResponse, ::testing::Values(80, 5000, 8081));

TEST(HttpAnalyzer, RequestSmuggledBehindTwoTransferEncodings) {
  TcpConversation c(40002, 8080);
  std::vector<CraftedFrame> f;
  f.push_back(c.segment(kClient, flag::kSyn));
  f.push_back(c.segment(kServer, flag::kSyn | flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck));
  f.push_back(c.segment(kClient, flag::kAck | flag::kPsh,
                        "POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n"
                        "Transfer-Encoding: identity\r\nContent-Length: 50\r\n\r\n0\r\n\r\n"
                        "GET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n"));
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, kResponse));
  f.push_back(c.segment(kServer, flag::kAck | flag::kPsh, kResponse));
  f.push_back(c.segment(kClient, flag::kAck | flag::kFin));
  f.push_back(c.segment(kServer, flag::kAck | flag::kFin));
  const auto ev = http_of(f);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].method(), "POST");
  EXPECT_TRUE(ev[0].request_chunked());
  EXPECT_EQ(ev[0].request_body_len(), 0u);
  for (const char* a : {"multiple Transfer-Encoding headers", "multiple transfer codings",
                        "chunked is not the final transfer coding",
                        "both Content-Length and chunked"}) {
    EXPECT_TRUE(has_anomaly(ev[0], a)) << a;
  }
  EXPECT_EQ(ev[1].method(), "GET");
  EXPECT_EQ(ev[1].uri(), "/smuggled");
  EXPECT_EQ(ev[1].status(), 200u);
  EXPECT_TRUE(ev[1].anomalies().empty());
}

}  // namespace
}  // namespace tapir
