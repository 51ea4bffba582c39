// Any bytes through text::assign_escaped, whole and cut at a length taken
// from the first byte: the text must be valid UTF-8 without controls, fit the
// cut, be a prefix of the whole escaping, and unescape back to the input
// (whole) or to a prefix of it (cut).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/text.h"

using namespace tapir::text;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
void check_safe(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    check(c >= 0x20 && c != 0x7f);
    const size_t n = utf8_sequence_length(s, i);
    check(n != 0);
    if (c == 0xc2) check(static_cast<uint8_t>(s[i + 1]) >= 0xa0);
    i += n;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max = static_cast<size_t>(data[0]) * 4;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string whole;
  const unsigned w = assign_escaped(in, whole);
  check((w & kTruncated) == 0);
  check_safe(whole);
  check(is_clean(in) == (whole == in));
  const auto back = unescape(whole);
  check(back.has_value() && *back == in);
  std::string cut;
  const unsigned c = assign_escaped(in, cut, max);
  check(cut.size() <= max);
  check(whole.compare(0, cut.size(), cut) == 0);
  check(((c & kTruncated) != 0) == (cut.size() < whole.size()));
  check_safe(cut);
  const auto part = unescape(cut);
  check(part.has_value() && in.substr(0, part->size()) == *part);
  return 0;
}
