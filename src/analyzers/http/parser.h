// HTTP/1.x message framing (RFC 9112). Pure: one direction's bytes in, calls
// on a Handler out; no flows, no events. It follows start lines, header
// fields, Content-Length, chunked transfer coding and read-until-close
// bodies, and keeps going after damage where the next message can still be
// found: bad framing is reported to the Handler, never fatal.
//
// Only the start line and one header line at a time are buffered (bounded);
// bodies are counted, not kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tapir::analyzers::http {

// A start line or header line longer than this is cut (reported): common
// servers refuse lines above 8 KiB (nginx large_client_header_buffers default)
// and 16 KiB leaves room for long URIs.
constexpr size_t kMaxLineLen = 16 * 1024;
// Header fields handed to the Handler per message; more are counted and
// reported. Apache's LimitRequestFields default is 100.
constexpr int kMaxHeaders = 100;
// Hex digits of a chunk size line: 16 fill 64 bits, more cannot be a length.
constexpr int kMaxChunkSizeDigits = 16;
// Empty lines skipped before a start line (RFC 9112 2.2 allows "at least
// one"); more means this is not HTTP.
constexpr int kMaxLeadingEmptyLines = 8;

class Handler {
 public:
  virtual ~Handler() = default;
  // Requests: method, target, version ("1.1"). Responses: version, status, reason.
  virtual void on_request_line(std::string_view method, std::string_view uri,
                               std::string_view version) = 0;
  virtual void on_status_line(std::string_view version, uint32_t status,
                              std::string_view reason) = 0;
  virtual void on_header(std::string_view name, std::string_view value) = 0;
  // Headers ended; return true if this message has no body whatever its
  // headers say (a response to HEAD, 1xx, 204, 304 are handled here already).
  virtual bool on_headers_done() { return false; }
  virtual void on_body(size_t len) = 0;
  virtual void on_message_done() = 0;
  virtual void on_anomaly(std::string_view what) = 0;
};

class MessageParser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  MessageParser(Kind kind, Handler& handler) : kind_(kind), handler_(handler) {}

  void feed(const uint8_t* data, size_t len);
  // Bytes lost: a body being counted continues (the lost bytes count as body
  // when they fit in it), anything else stops parsing this direction.
  void gap(uint64_t len);
  // The direction ended: a read-until-close body completes; a message cut
  // in the middle is reported.
  void end();

  bool dead() const { return state_ == State::kDead; }
  bool in_message() const { return state_ != State::kStart || !line_.empty(); }
  bool chunked() const { return chunked_; }

 private:
  enum class State : uint8_t {
    kStart, kHeaders, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailers, kUntilClose,
    kDead,
  };

  // Appends to the current line; true (and `line` complete) at LF.
  bool take_line(const uint8_t*& p, const uint8_t* end);
  void on_line();
  void start_line(std::string_view line);
  void header_line(std::string_view line);
  void transfer_coding_line(std::string_view value);
  void headers_done();
  void chunk_size_line(std::string_view line);
  void message_done();

  Kind kind_;
  Handler& handler_;
  State state_ = State::kStart;
  std::string line_;
  bool line_too_long_ = false;
  int empty_lines_ = 0;
  int headers_ = 0;
  // Framing of the current message.
  bool chunked_ = false;
  bool have_length_ = false;
  uint64_t length_ = 0;
  uint64_t remaining_ = 0;
  uint32_t status_ = 0;
  bool http10_ = false;
  // Transfer-Encoding, over all its lines: lines, codings, chunked codings,
  // and whether the last coding listed is chunked.
  int te_lines_ = 0;
  int te_codings_ = 0;
  int te_chunked_ = 0;
  bool te_last_chunked_ = false;
};

// Whether bytes start like an HTTP/1.x request line (content detection).
bool looks_like_request(const uint8_t* data, size_t len);
// Whether bytes start like an HTTP/1.0 or 1.1 status line: "HTTP/1.x ", three
// digits, then a space or the line end. Strict enough for any port: a server
// may answer before the request is seen (or before the client's handshake ACK).
bool looks_like_status_line(const uint8_t* data, size_t len);

}  // namespace tapir::analyzers::http
