// Live HTTP/1.1 on loopback: a Python HTTP/1.1 server (keep-alive, chunked
// and fixed-length bodies), curl reusing one connection, and a raw socket
// client pipelining three requests in one write; captured on lo with
// tcpdump and decoded by Tapir's engine. Tapir's fields must equal what the
// clients sent and what tshark reads from the same capture.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>

#include "corpus_util.h"
#include "live_util.h"

namespace tapir {
namespace {

using testing::Child;
using testing::read_file;
using testing::run;

class HttpLive : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for tcpdump on lo";
    dir_ = std::filesystem::temp_directory_path() /
           ("tapir-http-live-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    port_ = testing::free_port();
    cap_ = std::make_unique<testing::LoCapture>(path("cap.pcap"), port_, path("tcpdump.log"));
    ASSERT_TRUE(cap_->ready()) << read_file(path("tcpdump.log"));
    server_ = std::make_unique<Child>(
        std::vector<std::string>{"python3",
                                 std::string(TAPIR_SOURCE_DIR) + "/tests/http/http_server.py",
                                 std::to_string(port_)},
        "/dev/null", path("server.log"));
    ASSERT_TRUE(testing::wait_listening(port_));
  }
  void TearDown() override {
    server_.reset();
    cap_.reset();
    // A failed test keeps its capture and logs for a look.
    if (!dir_.empty() && !HasFailure()) std::filesystem::remove_all(dir_);
  }
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  std::string url(const std::string& p) const {
    return "http://127.0.0.1:" + std::to_string(port_) + p;
  }

  std::vector<v1::Http> finish() {
    cap_->stop();
    server_->stop();
    EXPECT_FALSE(cap_->dropped()) << "capture incomplete: " << read_file(path("tcpdump.log"));
    std::string err;
    auto events = testing::run_engine(path("cap.pcap"), {"http"}, &err);
    EXPECT_EQ(err, "");
    std::vector<v1::Http> out;
    for (auto& e : events)
      if (e.has_http()) out.push_back(e.http());
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::make_pair(a.src().port(), a.trans_depth()) <
             std::make_pair(b.src().port(), b.trans_depth());
    });
    return out;
  }

  // tshark's request URIs and response codes on the capture, in frame order.
  std::vector<std::string> tshark(const std::string& field) {
    const std::string text =
        testing::output_of({"tshark", "-r", path("cap.pcap"), "-Y", field, "-T", "fields",
                            "-E", "occurrence=a", "-E", "separator=/t", "-e", field},
                           path("tshark.out"));
    std::vector<std::string> out;
    for (const auto& line : testing::split_str(text, "\n"))
      for (const auto& v : testing::split_str(line, ","))
        if (!v.empty()) out.push_back(v);
    return out;
  }

  std::filesystem::path dir_;
  uint16_t port_ = 0;
  std::unique_ptr<testing::LoCapture> cap_;
  std::unique_ptr<Child> server_;
};

TEST_F(HttpLive, CurlKeepAliveChunkedAndPost) {
  // One curl run, one connection: a fixed body, a chunked body, a POST.
  ASSERT_EQ(run({"curl", "-s", "-o", "/dev/null", "-A", "tapir-live/1.0", "-e", "http://ref.example/",
                 url("/fixed/1234"), "-o", "/dev/null", url("/chunked/100")}),
            0);
  ASSERT_EQ(run({"curl", "-s", "-o", "/dev/null", "-H", "Content-Type: text/csv", "--data-binary",
                 "a,b,c", url("/fixed/5")}),
            0);
  const auto ev = finish();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].method(), "GET");
  EXPECT_EQ(ev[0].uri(), "/fixed/1234");
  EXPECT_EQ(ev[0].host(), "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(ev[0].user_agent(), "tapir-live/1.0");
  EXPECT_EQ(ev[0].referer(), "http://ref.example/");
  EXPECT_EQ(ev[0].status(), 200u);
  EXPECT_EQ(ev[0].response_body_len(), 1234u);
  EXPECT_EQ(ev[0].response_content_type(), "application/octet-stream");
  EXPECT_EQ(ev[0].trans_depth(), 1u);
  // Same connection (keep-alive): depth 2.
  EXPECT_EQ(ev[1].uri(), "/chunked/100");
  EXPECT_EQ(ev[1].src().port(), ev[0].src().port());
  EXPECT_EQ(ev[1].trans_depth(), 2u);
  EXPECT_TRUE(ev[1].response_chunked());
  EXPECT_EQ(ev[1].response_body_len(), 100u);
  EXPECT_EQ(ev[1].reason(), "Chunked OK");
  EXPECT_EQ(ev[2].method(), "POST");
  EXPECT_EQ(ev[2].request_body_len(), 5u);
  EXPECT_EQ(ev[2].request_content_type(), "text/csv");
  EXPECT_EQ(ev[2].response_body_len(), 5u);
  for (const auto& h : ev) {
    EXPECT_TRUE(h.has_response());
    // The server answers after reading the request: the response starts later.
    EXPECT_GT(h.latency_us(), 0u);
    EXPECT_TRUE(h.anomalies().empty()) << h.anomalies(0);
    EXPECT_EQ(h.version(), "1.1");
  }
  // tshark on the same capture.
  EXPECT_EQ(tshark("http.request.uri"),
            (std::vector<std::string>{"/fixed/1234", "/chunked/100", "/fixed/5"}));
  EXPECT_EQ(tshark("http.response.phrase"),
            (std::vector<std::string>{"OK", "Chunked OK", "OK"}));
}

TEST_F(HttpLive, PipelinedRequestsOnARawSocket) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port_);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string reqs =
      "GET /fixed/10 HTTP/1.1\r\nHost: pipe.example\r\n\r\n"
      "GET /chunked/20 HTTP/1.1\r\nHost: pipe.example\r\n\r\n"
      "GET /fixed/30 HTTP/1.1\r\nHost: pipe.example\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, reqs.data(), reqs.size(), 0), static_cast<ssize_t>(reqs.size()));
  // Read until the server closes (after the third response).
  char buf[4096];
  size_t got = 0;
  for (int i = 0; i < 1000; ++i) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  EXPECT_GT(got, 0u);
  const auto ev = finish();
  ASSERT_EQ(ev.size(), 3u);
  const char* uris[] = {"/fixed/10", "/chunked/20", "/fixed/30"};
  const uint64_t lens[] = {10, 20, 30};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(ev[i].uri(), uris[i]);
    EXPECT_EQ(ev[i].trans_depth(), i + 1);
    EXPECT_EQ(ev[i].host(), "pipe.example");
    EXPECT_EQ(ev[i].status(), 200u);
    EXPECT_EQ(ev[i].response_body_len(), lens[i]);
    EXPECT_TRUE(ev[i].has_response());
  }
  EXPECT_EQ(tshark("http.request.uri"),
            (std::vector<std::string>{"/fixed/10", "/chunked/20", "/fixed/30"}));
}

}  // namespace
}  // namespace tapir
