// Raw HTTP/1.1 connections for the starvation test and benchmark: from a
// chosen loopback source address (127.0.0.0/8 is all loopback, so limits per
// client address can be exercised from one host), slow senders, idle
// keep-alive connections, live-tail readers and a minimal response reader.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

namespace tapir::testing {

// A connected socket from `source` (e.g. "127.0.0.3") to 127.0.0.1:port; -1 on failure.
inline int connect_from(const std::string& source, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in src{};
  src.sin_family = AF_INET;
  inet_pton(AF_INET, source.c_str(), &src.sin_addr);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads what is available within `wait_ms`; returns false when the peer
// closed (or reset) the connection.
inline bool read_some(int fd, std::string& into, int wait_ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, wait_ms) <= 0) return true;
  char buf[16384];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  if (n <= 0) return false;
  into.append(buf, static_cast<size_t>(n));
  return true;
}

struct HttpReply {
  int status = 0;
  std::string head;
  std::string body;
  std::string header(const std::string& name) const {
    std::string lower_head;
    for (char c : head) lower_head += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string key = "\r\n";
    for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    key += ":";
    auto p = lower_head.find(key);
    if (p == std::string::npos) return {};
    p += key.size();
    auto e = head.find("\r\n", p);
    std::string v = head.substr(p, e - p);
    while (!v.empty() && v.front() == ' ') v.erase(v.begin());
    return v;
  }
};

// Reads one response with a Content-Length body (what the API sends for
// everything but live tails); nullopt on close or after `timeout`.
inline std::optional<HttpReply> read_reply(int fd, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  std::string buf;
  auto end = std::chrono::steady_clock::now() + timeout;
  size_t head_end = std::string::npos;
  while ((head_end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (std::chrono::steady_clock::now() > end) return std::nullopt;
    if (!read_some(fd, buf, 100)) return std::nullopt;
  }
  HttpReply r;
  r.head = buf.substr(0, head_end + 2);
  if (r.head.size() < 12 || r.head.compare(0, 5, "HTTP/") != 0) return std::nullopt;
  r.status = std::atoi(r.head.c_str() + 9);
  size_t len = static_cast<size_t>(std::atoll(r.header("Content-Length").c_str()));
  r.body = buf.substr(head_end + 4);
  while (r.body.size() < len) {
    if (std::chrono::steady_clock::now() > end) return std::nullopt;
    if (!read_some(fd, r.body, 100)) return std::nullopt;
  }
  return r;
}

inline std::string get_request(const std::string& path, const std::string& token = "", bool close = false) {
  std::string r = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
  if (close) r += "Connection: close\r\n";
  return r + "\r\n";
}

// True when the peer has closed the connection (reads EOF or a reset).
inline bool peer_closed(int fd, int wait_ms) {
  std::string ignored;
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  do {
    if (!read_some(fd, ignored, 50)) return true;
  } while (std::chrono::steady_clock::now() < end);
  return false;
}

}  // namespace tapir::testing
