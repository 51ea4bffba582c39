// Text from the wire made safe for proto3 `string` fields, SQLite text, JSON,
// terminals and browsers, without losing a byte.
//
// Every proto3 `string` must be valid UTF-8: a parser that meets anything else
// rejects the whole message, so one hostile Host header or SNI would make an
// agent's batch unreadable to its collector. Analyzers therefore never copy
// wire bytes into a `string` field directly; they go through `assign_escaped`.
//
// The escaping (documented in docs/analyzers.md, "Text from the wire"):
//  - printable ASCII (0x20-0x7e) except the backslash, and every valid UTF-8
//    sequence of a code point from U+00A0 up, are kept as they are;
//  - a backslash becomes `\\`;
//  - every other byte becomes `\xNN` (two lower-case hex digits): bytes that
//    are not part of valid UTF-8 (stray continuation bytes, overlong forms,
//    surrogates, values past U+10FFFF, a sequence cut by the end), the C0
//    controls 0x00-0x1f including NUL, DEL 0x7f, and both bytes of a C1
//    control U+0080-U+009F (0xc2 0x80-0x9f), which some terminals obey.
// Because a backslash in the output always starts `\\` or `\xNN`, the
// escaping is unambiguous and `unescape` gives back the original bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tapir::text {

// What `assign_escaped` / `append_escaped` had to do, as bits.
enum Outcome : uint8_t {
  kClean = 0,
  // At least one byte was written as `\xNN` (invalid UTF-8 or a control).
  // A doubled backslash alone does not count: it is ordinary text.
  kEscaped = 1,
  // The text was cut at `max_len` bytes (never inside an escape or a
  // UTF-8 sequence).
  kTruncated = 2,
};

// Length of the leading part of `in` that is kept byte for byte (no
// backslash, no byte needing `\xNN`). Equal to in.size() for clean text.
size_t clean_prefix(std::string_view in);

inline bool is_clean(std::string_view in) { return clean_prefix(in) == in.size(); }

// Whether the escaping would write some byte of `in` as `\xNN`: invalid
// UTF-8 or a control character (a backslash alone does not count).
bool needs_hex(std::string_view in);

// Appends the escaped form of `in` to `out`, at most `max_len` bytes of it.
// Returns a combination of Outcome bits.
unsigned append_escaped(std::string_view in, std::string& out, size_t max_len = SIZE_MAX);

// `out` = the escaped form of `in` (at most `max_len` bytes). Clean input
// that fits is copied in one assign: no allocation beyond `out`'s own.
unsigned assign_escaped(std::string_view in, std::string& out, size_t max_len = SIZE_MAX);

// For text that is already in a presentation form with its own backslash
// escapes, here RFC 4514 distinguished names as OpenSSL prints them: its
// backslashes are kept, and a byte that is not text is written in that
// form's own hex escape, `\XX` (upper case, as OpenSSL writes `\1B`), which
// RFC 4514 defines as that byte of the UTF-8 value. The result stays a valid
// distinguished name, comparable with Zeek's and Suricata's.
unsigned assign_escaped_dn(std::string_view in, std::string& out, size_t max_len = SIZE_MAX);

// The escaped form as a new string (tests, tools).
std::string escaped(std::string_view in);

// The original bytes of escaped text; nullopt if `in` is not a possible
// output of the escaping (a lone backslash, bad hex, invalid UTF-8 kept raw).
std::optional<std::string> unescape(std::string_view in);

// Length of the valid UTF-8 sequence at in[i] (1-4), or 0 if the bytes there
// are not valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
size_t utf8_sequence_length(std::string_view in, size_t i);

}  // namespace tapir::text
