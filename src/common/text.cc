#include "common/text.h"

#include <array>

namespace tapir::text {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kUpperHex[] = "0123456789ABCDEF";

// Bytes copied as they are without looking further: printable ASCII but the
// backslash. Everything else takes the slow path (escape or UTF-8 check).
constexpr std::array<bool, 256> make_plain() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[static_cast<size_t>(c)] = c != '\\';
  return t;
}
constexpr std::array<bool, 256> kPlain = make_plain();

inline bool plain(char c) { return kPlain[static_cast<uint8_t>(c)]; }

// A multi-byte sequence kept as is: valid UTF-8 and not a C1 control.
inline size_t kept_sequence(std::string_view in, size_t i) {
  const size_t n = utf8_sequence_length(in, i);
  if (n == 2 && static_cast<uint8_t>(in[i]) == 0xc2 && static_cast<uint8_t>(in[i + 1]) < 0xa0)
    return 0;  // U+0080-U+009F
  return n;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is never written, so never read
}

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;  // continuation byte, 0xc0/0xc1 (always overlong), 0xf5-0xff
  }
  if (n > s.size() - i) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto cc = static_cast<uint8_t>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

size_t clean_prefix(std::string_view in) {
  size_t i = 0;
  while (i < in.size()) {
    if (plain(in[i])) {
      ++i;
      continue;
    }
    if (static_cast<uint8_t>(in[i]) < 0x80) return i;  // control, DEL or backslash
    const size_t n = kept_sequence(in, i);
    if (n == 0) return i;
    i += n;
  }
  return i;
}

bool needs_hex(std::string_view in) {
  size_t i = 0;
  while (i < in.size()) {
    i += clean_prefix(in.substr(i));
    if (i == in.size()) return false;
    if (in[i] != '\\') return true;
    ++i;
  }
  return false;
}

namespace {

// dn: backslashes are text, and escapes are `\XX` (RFC 4514) not `\xNN`.
unsigned append_impl(std::string_view in, std::string& out, size_t max_len, bool dn) {
  unsigned outcome = kClean;
  size_t room = max_len;
  size_t i = 0;
  while (i < in.size()) {
    // The longest clean run, copied at once.
    size_t run = clean_prefix(in.substr(i));
    // In a DN the backslash is the form's own escape: part of the run.
    while (dn && i + run < in.size() && in[i + run] == '\\')
      run += 1 + clean_prefix(in.substr(i + run + 1));
    if (run > 0) {
      size_t take = run;
      if (take > room) {
        // Cut at a character boundary: back off over continuation bytes.
        take = room;
        while (take > 0 && (static_cast<uint8_t>(in[i + take]) & 0xc0) == 0x80) --take;
        out.append(in.data() + i, take);
        return outcome | kTruncated;
      }
      out.append(in.data() + i, take);
      room -= take;
      i += take;
      if (i == in.size()) break;
    }
    const auto c = static_cast<uint8_t>(in[i]);
    if (c == '\\') {
      if (room < 2) return outcome | kTruncated;
      out.append("\\\\", 2);
      room -= 2;
      ++i;
      continue;
    }
    // One byte that needs `\xNN`; a C1 control is two such bytes.
    size_t n = 1;
    if (c == 0xc2 && i + 1 < in.size() && static_cast<uint8_t>(in[i + 1]) >= 0x80 &&
        static_cast<uint8_t>(in[i + 1]) < 0xa0)
      n = 2;
    if (room < (dn ? 3 : 4) * n) return outcome | kTruncated;
    for (size_t k = 0; k < n; ++k) {
      const auto b = static_cast<uint8_t>(in[i + k]);
      if (dn) {
        const char esc[3] = {'\\', kUpperHex[b >> 4], kUpperHex[b & 0xf]};
        out.append(esc, 3);
      } else {
        const char esc[4] = {'\\', 'x', kHexDigits[b >> 4], kHexDigits[b & 0xf]};
        out.append(esc, 4);
      }
    }
    room -= (dn ? 3 : 4) * n;
    i += n;
    outcome |= kEscaped;
  }
  return outcome;
}

}  // namespace

unsigned append_escaped(std::string_view in, std::string& out, size_t max_len) {
  return append_impl(in, out, max_len, false);
}

unsigned assign_escaped_dn(std::string_view in, std::string& out, size_t max_len) {
  out.clear();
  return append_impl(in, out, max_len, true);
}

unsigned assign_escaped(std::string_view in, std::string& out, size_t max_len) {
  if (in.size() <= max_len && is_clean(in)) {
    out.assign(in.data(), in.size());
    return kClean;
  }
  out.clear();
  return append_escaped(in, out, max_len);
}

std::string escaped(std::string_view in) {
  std::string out;
  append_escaped(in, out);
  return out;
}

std::optional<std::string> unescape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const char c = in[i];
    if (c != '\\') {
      // Kept text is valid UTF-8 with no control: anything else was not
      // written by the escaping.
      if (!plain(c) && (static_cast<uint8_t>(c) < 0x80 || kept_sequence(in, i) == 0))
        return std::nullopt;
      const size_t n = plain(c) ? 1 : kept_sequence(in, i);
      out.append(in.data() + i, n);
      i += n;
      continue;
    }
    if (i + 1 < in.size() && in[i + 1] == '\\') {
      out += '\\';
      i += 2;
      continue;
    }
    if (i + 4 > in.size() || in[i + 1] != 'x') return std::nullopt;
    const int hi = hex_value(in[i + 2]);
    const int lo = hex_value(in[i + 3]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 4;
  }
  return out;
}

}  // namespace tapir::text
