// An oracle for text checks that shares no code with src/common/text: glibc's
// iconv decides whether bytes are valid UTF-8.
#pragma once

#include <iconv.h>

#include <cstdint>
#include <string>

namespace tapir::testing {

// glibc's verdict: is `s` valid UTF-8?
inline bool iconv_valid(const std::string& s) {
  static iconv_t cd = iconv_open("UTF-8", "UTF-8");
  iconv(cd, nullptr, nullptr, nullptr, nullptr);
  std::string in = s;
  std::string out(s.size() * 4 + 16, '\0');
  char* ip = in.data();
  size_t il = in.size();
  char* op = out.data();
  size_t ol = out.size();
  return iconv(cd, &ip, &il, &op, &ol) != static_cast<size_t>(-1) && il == 0;
}

// Valid UTF-8 without C0, DEL or C1 controls (and, unless allowed, without a
// backslash, which the project's escaping doubles).
inline bool safe_text(const std::string& s, bool allow_backslash = true) {
  if (!iconv_valid(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c < 0x20 || c == 0x7f || (!allow_backslash && c == '\\')) return false;
    if (c == 0xc2 && i + 1 < s.size() && static_cast<uint8_t>(s[i + 1]) < 0xa0) return false;
  }
  return true;
}

}  // namespace tapir::testing
