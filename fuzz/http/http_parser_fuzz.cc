// Arbitrary bytes through the HTTP/1.x message parser as both a request and a
// response stream, cut in two at a position taken from the first byte, with
// a gap and the end of stream at the end.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "analyzers/http/parser.h"

using namespace tapir::analyzers::http;

namespace {
struct Sink : Handler {
  uint64_t n = 0;
  void on_request_line(std::string_view m, std::string_view u, std::string_view v) override {
    n += m.size() + u.size() + v.size();
  }
  void on_status_line(std::string_view v, uint32_t s, std::string_view r) override {
    n += v.size() + s + r.size();
  }
  void on_header(std::string_view a, std::string_view b) override { n += a.size() + b.size(); }
  bool on_headers_done() override { return (n & 7) == 0; }
  void on_body(size_t len) override { n += len; }
  void on_message_done() override { ++n; }
  void on_anomaly(std::string_view w) override { n += w.size(); }
};
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cut = data[0] % size;
  for (auto kind : {MessageParser::Kind::kRequest, MessageParser::Kind::kResponse}) {
    Sink sink;
    MessageParser p(kind, sink);
    p.feed(data + 1, cut);
    p.gap(data[0]);
    p.feed(data + 1 + cut, size - 1 - cut);
    p.end();
  }
  return 0;
}
