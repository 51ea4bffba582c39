#include "common/ip.h"

#include <cstdio>

#ifdef _WIN32
#include <ws2tcpip.h>
#else
#include <arpa/inet.h>
#endif

namespace tapir {

std::string IpAddr::to_string() const {
  char buf[64];
  if (version == 4) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  if (version == 6) {
    if (inet_ntop(AF_INET6, b.data(), buf, sizeof buf) == nullptr) return {};
    return buf;
  }
  return {};
}

bool IpAddr::parse(const std::string& text, IpAddr& out) {
  uint8_t tmp[16];
  if (inet_pton(AF_INET, text.c_str(), tmp) == 1) {
    out = IpAddr::v4(tmp);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), tmp) == 1) {
    out = IpAddr::v6(tmp);
    return true;
  }
  return false;
}

std::string ip_bytes_to_string(const std::string& raw) {
  const auto* p = reinterpret_cast<const uint8_t*>(raw.data());
  if (raw.size() == 4) return IpAddr::v4(p).to_string();
  if (raw.size() == 16) return IpAddr::v6(p).to_string();
  return {};
}

std::string mac_to_string(const uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

std::string mac_bytes_to_string(const std::string& raw) {
  if (raw.size() != 6) return {};
  return mac_to_string(reinterpret_cast<const uint8_t*>(raw.data()));
}

bool ip_string_to_bytes(const std::string& text, std::string& raw) {
  IpAddr a;
  if (!IpAddr::parse(text, a)) return false;
  raw = a.raw();
  return true;
}

bool mac_string_to_bytes(const std::string& text, std::string& raw) {
  unsigned v[6];
  char tail;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                  &v[5], &tail) != 6)
    return false;
  raw.resize(6);
  for (int i = 0; i < 6; ++i) raw[i] = static_cast<char>(v[i]);
  return true;
}

}  // namespace tapir
