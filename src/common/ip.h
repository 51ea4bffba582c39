// IP and MAC addresses as small values, with text forms.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>

namespace tapir {

// An IPv4 or IPv6 address. IPv4 is kept in the first 4 bytes, the rest zero,
// so that comparisons and hashing are plain byte operations.
struct IpAddr {
  std::array<uint8_t, 16> b{};
  uint8_t version = 0;  // 0 = unset, 4 or 6

  static IpAddr v4(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.b.data(), p, 4);
    a.version = 4;
    return a;
  }
  static IpAddr v6(const uint8_t* p) {
    IpAddr a;
    std::memcpy(a.b.data(), p, 16);
    a.version = 6;
    return a;
  }
  size_t size() const { return version == 4 ? 4 : version == 6 ? 16 : 0; }
  const uint8_t* data() const { return b.data(); }
  bool empty() const { return version == 0; }
  // Raw bytes (4 or 16) as a std::string, the form protobuf `bytes` fields take.
  std::string raw() const { return std::string(reinterpret_cast<const char*>(b.data()), size()); }
  // Dotted quad or RFC 5952 text; empty for unset.
  std::string to_string() const;
  // Parses either family; false on error.
  static bool parse(const std::string& text, IpAddr& out);

  friend bool operator==(const IpAddr& x, const IpAddr& y) {
    return x.version == y.version && x.b == y.b;
  }
  friend bool operator<(const IpAddr& x, const IpAddr& y) {
    if (x.version != y.version) return x.version < y.version;
    return x.b < y.b;
  }
};

using MacAddr = std::array<uint8_t, 6>;

// Text forms of raw address bytes as stored in events (4/16 bytes IP, 6 bytes MAC).
std::string ip_bytes_to_string(const std::string& raw);
std::string mac_to_string(const uint8_t* mac);
std::string mac_bytes_to_string(const std::string& raw);
// Parse text back to the raw bytes form; false on error.
bool ip_string_to_bytes(const std::string& text, std::string& raw);
bool mac_string_to_bytes(const std::string& text, std::string& raw);

}  // namespace tapir
