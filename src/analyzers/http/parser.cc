#include "analyzers/http/parser.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace tapir::analyzers::http {

namespace {

constexpr std::string_view kWhitespace = " \t";

std::string_view trim(std::string_view s) {
  const size_t b = s.find_first_not_of(kWhitespace);
  if (b == std::string_view::npos) return {};
  const size_t e = s.find_last_not_of(kWhitespace);
  return s.substr(b, e - b + 1);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Counters over attacker-controlled repetitions stop here; only "more than
// one" matters to the checks that read them.
constexpr int kCountCap = 1000;
void count(int& n) { n += n < kCountCap ? 1 : 0; }

// RFC 9110 5.6.2 token characters.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// "HTTP/1.1" -> "1.1"; empty if not an HTTP version.
std::string_view http_version(std::string_view s) {
  if (s.size() != 8 || s.substr(0, 5) != "HTTP/" || s[6] != '.' || s[5] < '0' || s[5] > '9' ||
      s[7] < '0' || s[7] > '9')
    return {};
  return s.substr(5);
}

bool parse_decimal(std::string_view s, uint64_t& out) {
  // 19 digits always fit in 64 bits.
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

constexpr std::array<std::string_view, 16> kMethods = {
    "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "CONNECT", "TRACE",
    "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK"};

}  // namespace

bool looks_like_request(const uint8_t* data, size_t len) {
  const std::string_view s(reinterpret_cast<const char*>(data), len);
  for (std::string_view m : kMethods) {
    if (s.size() > m.size() + 1 && s.substr(0, m.size()) == m && s[m.size()] == ' ' &&
        s[m.size() + 1] != ' ')
      return true;
  }
  return false;
}

bool looks_like_status_line(const uint8_t* data, size_t len) {
  const std::string_view s(reinterpret_cast<const char*>(data), len);
  if (s.size() < 13 || (s.substr(0, 9) != "HTTP/1.1 " && s.substr(0, 9) != "HTTP/1.0 ")) return false;
  for (size_t i = 9; i < 12; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return s[9] >= '1' && s[9] <= '5' && (s[12] == ' ' || s[12] == '\r' || s[12] == '\n');
}

bool MessageParser::take_line(const uint8_t*& p, const uint8_t* end) {
  const auto* lf = static_cast<const uint8_t*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
  const uint8_t* stop = lf != nullptr ? lf : end;
  const size_t n = static_cast<size_t>(stop - p);
  const size_t room = kMaxLineLen - std::min(kMaxLineLen, line_.size());
  if (n > room) line_too_long_ = true;
  line_.append(reinterpret_cast<const char*>(p), std::min(n, room));
  if (lf == nullptr) {
    p = end;
    return false;
  }
  p = lf + 1;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

void MessageParser::feed(const uint8_t* data, size_t len) {
  const uint8_t* p = data;
  const uint8_t* end = data + len;
  // Every pass consumes at least one byte or finishes a state that needs no
  // bytes, so the loop ends within len + (messages completed) passes.
  while (p < end && state_ != State::kDead) {
    switch (state_) {
      case State::kBody:
      case State::kChunkData: {
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, static_cast<uint64_t>(end - p)));
        handler_.on_body(n);
        p += n;
        remaining_ -= n;
        if (remaining_ == 0) {
          if (state_ == State::kBody) message_done();
          else state_ = State::kChunkDataEnd;
        }
        break;
      }
      case State::kUntilClose:
        handler_.on_body(static_cast<size_t>(end - p));
        p = end;
        break;
      default:
        if (take_line(p, end)) {
          on_line();
          line_.clear();
          line_too_long_ = false;
        }
        break;
    }
  }
}

void MessageParser::on_line() {
  const std::string_view line = line_;
  switch (state_) {
    case State::kStart:
      if (line.empty()) {
        if (++empty_lines_ > kMaxLeadingEmptyLines) {
          handler_.on_anomaly("too many empty lines before a start line");
          state_ = State::kDead;
        }
        return;
      }
      start_line(line);
      return;
    case State::kHeaders:
      if (line.empty()) {
        headers_done();
      } else {
        header_line(line);
      }
      return;
    case State::kChunkDataEnd:
      state_ = State::kChunkSize;
      if (line.empty()) return;
      handler_.on_anomaly("chunk data not followed by CRLF");
      chunk_size_line(line);
      return;
    case State::kChunkSize:
      chunk_size_line(line);
      return;
    case State::kTrailers:
      if (line.empty()) message_done();
      return;
    default:
      return;
  }
}

void MessageParser::start_line(std::string_view line) {
  if (line_too_long_) handler_.on_anomaly("start line too long");
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (kind_ == Kind::kRequest) {
    const std::string_view method = line.substr(0, sp1);
    if (sp1 == std::string_view::npos || sp2 == std::string_view::npos || !is_token(method)) {
      handler_.on_anomaly("not an HTTP request line");
      state_ = State::kDead;
      return;
    }
    const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = http_version(trim(line.substr(sp2 + 1)));
    if (version.empty()) {
      handler_.on_anomaly("not an HTTP request line");
      state_ = State::kDead;
      return;
    }
    http10_ = version == "1.0";
    handler_.on_request_line(method, uri, version);
  } else {
    const std::string_view version = http_version(line.substr(0, sp1));
    uint64_t status = 0;
    const std::string_view code =
        sp1 == std::string_view::npos ? std::string_view{} : line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (version.empty() || code.size() != 3 || !parse_decimal(code, status)) {
      handler_.on_anomaly("not an HTTP status line");
      state_ = State::kDead;
      return;
    }
    status_ = static_cast<uint32_t>(status);
    http10_ = version == "1.0";
    handler_.on_status_line(version, status_,
                            sp2 == std::string_view::npos ? std::string_view{} : line.substr(sp2 + 1));
  }
  state_ = State::kHeaders;
}

void MessageParser::header_line(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    handler_.on_anomaly("obsolete header line folding");
    return;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    handler_.on_anomaly("header line without colon");
    return;
  }
  std::string_view name = line.substr(0, colon);
  if (name != trim(name)) {
    handler_.on_anomaly("whitespace around header name");
    name = trim(name);
  }
  const std::string_view value = trim(line.substr(colon + 1));
  if (line_too_long_) handler_.on_anomaly("header line too long");

  // Framing headers are read whatever the header count, so that the message
  // end is found the same way a server would.
  if (iequals(name, "content-length")) {
    uint64_t n = 0;
    if (!parse_decimal(value, n)) {
      handler_.on_anomaly("bad Content-Length");
    } else if (have_length_ && n != length_) {
      handler_.on_anomaly("conflicting Content-Length headers");
    } else {
      have_length_ = true;
      length_ = n;
    }
  } else if (iequals(name, "transfer-encoding")) {
    transfer_coding_line(value);
  }

  if (++headers_ == kMaxHeaders + 1) handler_.on_anomaly("too many header fields");
  if (headers_ <= kMaxHeaders) handler_.on_header(name, value);
}

// RFC 9110 5.3: several Transfer-Encoding lines are one list, in order.
// Each line's codings are appended to what earlier lines said; the framing is
// decided in headers_done() from the whole list, so that "chunked" on one
// line and "identity" on the next reads as "chunked, identity".
void MessageParser::transfer_coding_line(std::string_view value) {
  count(te_lines_);
  if (te_lines_ == 2) handler_.on_anomaly("multiple Transfer-Encoding headers");
  // Bounded by the (bounded) header line length.
  while (!value.empty()) {
    const size_t c = value.find(',');
    const std::string_view coding = trim(value.substr(0, c));
    if (!coding.empty()) {
      count(te_codings_);
      te_last_chunked_ = iequals(coding, "chunked");
      if (te_last_chunked_) count(te_chunked_);
    }
    if (c == std::string_view::npos) break;
    value.remove_prefix(c + 1);
  }
}

void MessageParser::headers_done() {
  if (te_codings_ > 1) handler_.on_anomaly("multiple transfer codings");
  if (te_chunked_ > 0) {
    // Zeek decodes such a message as chunked too (HTTP_chunked_multi); the
    // anomalies name what lets two servers frame it differently (smuggling).
    chunked_ = true;
    if (te_chunked_ > 1) handler_.on_anomaly("chunked applied more than once");
    if (!te_last_chunked_) handler_.on_anomaly("chunked is not the final transfer coding");
    if (http10_) handler_.on_anomaly("Transfer-Encoding in an HTTP/1.0 message");
  }
  bool no_body = handler_.on_headers_done();
  if (kind_ == Kind::kResponse &&
      ((status_ >= 100 && status_ < 200) || status_ == 204 || status_ == 304))
    no_body = true;
  if (no_body) {
    message_done();
    return;
  }
  if (chunked_) {
    if (have_length_) handler_.on_anomaly("both Content-Length and chunked");
    state_ = State::kChunkSize;
  } else if (have_length_) {
    if (length_ == 0) {
      message_done();
    } else {
      remaining_ = length_;
      state_ = State::kBody;
    }
  } else if (kind_ == Kind::kRequest) {
    message_done();
  } else {
    state_ = State::kUntilClose;
  }
}

void MessageParser::chunk_size_line(std::string_view line) {
  uint64_t size = 0;
  int digits = 0;
  bool bad = false;
  for (char c : line) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    else if (c == ';' || c == ' ' || c == '\t') break;  // chunk extensions
    else {
      bad = true;
      break;
    }
    if (++digits > kMaxChunkSizeDigits) {
      bad = true;
      break;
    }
    size = (size << 4) | static_cast<uint64_t>(v);
  }
  if (bad || digits == 0) {
    // The body's end is unknown; like Zeek, end the message here and look
    // for the next start line, so what follows is still seen.
    handler_.on_anomaly("bad chunk size");
    message_done();
    return;
  }
  if (size == 0) {
    state_ = State::kTrailers;
  } else {
    remaining_ = size;
    state_ = State::kChunkData;
  }
}

void MessageParser::message_done() {
  handler_.on_message_done();
  state_ = State::kStart;
  headers_ = 0;
  empty_lines_ = 0;
  chunked_ = false;
  te_lines_ = te_codings_ = te_chunked_ = 0;
  te_last_chunked_ = false;
  http10_ = false;
  have_length_ = false;
  length_ = 0;
  remaining_ = 0;
  status_ = 0;
}

void MessageParser::gap(uint64_t len) {
  if ((state_ == State::kBody || state_ == State::kChunkData) && len <= remaining_) {
    handler_.on_body(static_cast<size_t>(len));
    remaining_ -= len;
    if (remaining_ == 0) {
      if (state_ == State::kBody) message_done();
      else state_ = State::kChunkDataEnd;
    }
    return;
  }
  if (state_ == State::kUntilClose) {
    handler_.on_body(static_cast<size_t>(len));
    return;
  }
  if (state_ != State::kDead) {
    handler_.on_anomaly("bytes lost outside a body");
    state_ = State::kDead;
  }
}

void MessageParser::end() {
  if (state_ == State::kUntilClose) {
    message_done();
    return;
  }
  if (state_ == State::kDead) return;
  if (state_ != State::kStart || !line_.empty()) handler_.on_anomaly("message cut short");
  state_ = State::kDead;
}

}  // namespace tapir::analyzers::http
