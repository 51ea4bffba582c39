// The wire-text escaping (common/text.h). UTF-8 validity is held to glibc's
// iconv as the independent oracle; the escaping's own cases follow RFC 3629
// and Markus Kuhn's UTF-8 decoder stress test.
#include <gtest/gtest.h>

#include <iconv.h>

#include <random>
#include <string>

#include "common/text.h"
#include "support/utf8_oracle.h"

namespace tapir::text {
namespace {

using namespace std::string_literals;

using tapir::testing::iconv_valid;

// Valid UTF-8 with no control character (C0, DEL, C1) and no backslash.
bool oracle_clean(const std::string& s) { return tapir::testing::safe_text(s, false); }

void expect_round_trip(const std::string& in) {
  const std::string e = escaped(in);
  EXPECT_TRUE(iconv_valid(e)) << e;
  for (char c : e) EXPECT_FALSE(static_cast<uint8_t>(c) < 0x20 || c == 0x7f) << e;
  const auto back = unescape(e);
  ASSERT_TRUE(back.has_value()) << e;
  EXPECT_EQ(*back, in) << e;
}

TEST(Text, CleanTextIsKept) {
  for (const std::string& s : {""s, "example.com"s, "GET /a?b=c HTTP/1.1"s, "Grüße, 日本語, 🦔"s,
                              "\xc2\xa0nbsp"s, "\xef\xbf\xbf"s, "\xf4\x8f\xbf\xbf"s}) {
    EXPECT_TRUE(is_clean(s)) << s;
    EXPECT_EQ(escaped(s), s);
    std::string out;
    EXPECT_EQ(assign_escaped(s, out), kClean);
    EXPECT_EQ(out, s);
  }
}

TEST(Text, InvalidBytesBecomeHexEscapes) {
  EXPECT_EQ(escaped("ex\xe4mple.com"), "ex\\xe4mple.com");  // Latin-1 ä
  EXPECT_EQ(escaped("\x80"), "\\x80");                       // stray continuation
  EXPECT_EQ(escaped("\xbf\x80"), "\\xbf\\x80");
  EXPECT_EQ(escaped("\xfe\xff"), "\\xfe\\xff");              // never in UTF-8
  EXPECT_EQ(escaped("\xf5\x80\x80\x80"), "\\xf5\\x80\\x80\\x80");  // past U+10FFFF lead
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // U+110000
}

TEST(Text, OverlongFormsAreEscaped) {
  EXPECT_EQ(escaped("\xc0\xaf"), "\\xc0\\xaf");              // '/' in two bytes
  EXPECT_EQ(escaped("\xc1\xbf"), "\\xc1\\xbf");
  EXPECT_EQ(escaped("\xe0\x80\xaf"), "\\xe0\\x80\\xaf");     // '/' in three
  EXPECT_EQ(escaped("\xe0\x9f\xbf"), "\\xe0\\x9f\\xbf");     // U+07FF in three
  EXPECT_EQ(escaped("\xf0\x80\x80\xaf"), "\\xf0\\x80\\x80\\xaf");
  EXPECT_EQ(escaped("\xf0\x8f\xbf\xbf"), "\\xf0\\x8f\\xbf\\xbf");  // U+FFFF in four
}

TEST(Text, SurrogatesAreEscaped) {
  EXPECT_EQ(escaped("\xed\xa0\x80"), "\\xed\\xa0\\x80");                // U+D800
  EXPECT_EQ(escaped("\xed\xbf\xbf"), "\\xed\\xbf\\xbf");                // U+DFFF
  EXPECT_EQ(escaped("\xed\xa0\xbd\xed\xb2\xa9"), "\\xed\\xa0\\xbd\\xed\\xb2\\xa9");  // CESU pair
  EXPECT_EQ(escaped("\xed\x9f\xbf"), "\xed\x9f\xbf");                   // U+D7FF is fine
}

TEST(Text, TruncatedSequencesAreEscapedBytewise) {
  EXPECT_EQ(escaped("a\xc3"), "a\\xc3");
  EXPECT_EQ(escaped("a\xe6\x97"), "a\\xe6\\x97");
  EXPECT_EQ(escaped("a\xf0\x9f\xa6"), "a\\xf0\\x9f\\xa6");
  // A cut sequence followed by good text: only the cut bytes are escaped.
  EXPECT_EQ(escaped("\xe6\x97z\xe6\x97\xa5"), "\\xe6\\x97z\xe6\x97\xa5");
}

TEST(Text, ControlsAndNulAreEscaped) {
  EXPECT_EQ(escaped("a\0b"s), "a\\x00b");
  EXPECT_EQ(escaped("\t\r\n\x1b[31m"), "\\x09\\x0d\\x0a\\x1b[31m");
  EXPECT_EQ(escaped("\x7f"), "\\x7f");
  EXPECT_EQ(escaped("\xc2\x9b" "31m"), "\\xc2\\x9b31m");  // C1 CSI
  EXPECT_EQ(escaped("\xc2\x80\xc2\x9f\xc2\xa0"), "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
}

TEST(Text, BackslashIsDoubledAndNotAnAnomaly) {
  std::string out;
  EXPECT_EQ(assign_escaped("C:\\x41\\", out), kClean);
  EXPECT_EQ(out, "C:\\\\x41\\\\");
  EXPECT_EQ(assign_escaped("\\\xff", out), kEscaped);
  EXPECT_EQ(out, "\\\\\\xff");
}

TEST(Text, EscapingIsUnambiguous) {
  // The text that looks like an escape and the byte it stands for differ.
  EXPECT_NE(escaped("\\xe4"), escaped("\xe4"));
  EXPECT_NE(escaped("\\\\"), escaped("\\"));
  for (const std::string& s : {"\\xe4"s, "\xe4"s, "\\"s, "\\\\"s, "\\x"s, "a\0\\x00"s,
                              "\xc2\x9b\xc2"s, "\xed\xa0\x80\\"s})
    expect_round_trip(s);
}

TEST(Text, UnescapeRejectsWhatTheEscapingNeverWrites) {
  EXPECT_FALSE(unescape("\\").has_value());
  EXPECT_FALSE(unescape("\\x4").has_value());
  EXPECT_FALSE(unescape("\\xg0").has_value());
  EXPECT_FALSE(unescape("\\xE4").has_value());  // always lower case
  EXPECT_FALSE(unescape("\\n").has_value());
  EXPECT_FALSE(unescape("\xe4").has_value());   // raw invalid byte
  EXPECT_FALSE(unescape("\x01").has_value());   // raw control
}

TEST(Text, TruncationNeverSplitsAnEscapeOrACharacter) {
  std::string out;
  EXPECT_EQ(assign_escaped("abcdef", out, 4), kTruncated);
  EXPECT_EQ(out, "abcd");
  EXPECT_EQ(assign_escaped("ab\xe6\x97\xa5", out, 4), kTruncated);  // 日 needs 3
  EXPECT_EQ(out, "ab");
  // \xff needs 4: nothing of it is written, so nothing counts as escaped.
  EXPECT_EQ(assign_escaped("ab\xff", out, 5), kTruncated);
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(assign_escaped("ab\\", out, 3), kTruncated);
  EXPECT_EQ(out, "ab");
  EXPECT_EQ(assign_escaped("ab\xff", out, 6), kEscaped);
  EXPECT_EQ(out, "ab\\xff");
  // Whatever the cut, the text is a prefix of the full escaping and valid.
  const std::string hostile = "a\xe4\\\xc2\x9b\xf0\x9f\xa6\x94\0z"s;
  const std::string full = escaped(hostile);
  for (size_t max = 0; max <= full.size(); ++max) {
    const unsigned r = assign_escaped(hostile, out, max);
    EXPECT_LE(out.size(), max);
    EXPECT_EQ(full.compare(0, out.size(), out), 0) << max;
    EXPECT_TRUE(unescape(out).has_value()) << max;
    EXPECT_EQ((r & kTruncated) != 0, max < full.size()) << max;
  }
}

TEST(Text, DistinguishedNamesKeepTheirOwnEscapes) {
  std::string out;
  // RFC 4514 escapes as OpenSSL prints them stay; the text is clean.
  EXPECT_EQ(assign_escaped_dn("CN=a\\, b,O=x\\1B", out), kClean);
  EXPECT_EQ(out, "CN=a\\, b,O=x\\1B");
  // Bytes that are not text become RFC 4514 hex pairs, upper case.
  EXPECT_EQ(assign_escaped_dn("CN=\xc2\x9b\xe4\x00\xc3\xa4"s, out), kEscaped);
  EXPECT_EQ(out, "CN=\\C2\\9B\\E4\\00\xc3\xa4");
  EXPECT_EQ(assign_escaped_dn("CN=\xe4", out, 5), kTruncated);
  EXPECT_EQ(out, "CN=");
}

TEST(Text, SequenceLengthAgreesWithIconvOnEveryTwoAndThreeByteInput) {
  for (int a = 0x80; a < 0x100; ++a) {
    for (int b = 0; b < 0x100; ++b) {
      const std::string two{static_cast<char>(a), static_cast<char>(b)};
      const bool ours = utf8_sequence_length(two, 0) == 2;
      ASSERT_EQ(ours, iconv_valid(two) && a >= 0xc2 && a <= 0xdf) << std::hex << a << " " << b;
      if (a < 0xe0 || a > 0xef) continue;
      for (int c = 0x80; c < 0xc0; ++c) {
        const std::string three = two + static_cast<char>(c);
        ASSERT_EQ(utf8_sequence_length(three, 0) == 3, iconv_valid(three))
            << std::hex << a << " " << b << " " << c;
      }
    }
  }
}

TEST(Text, RandomBytesAgreeWithIconvAndRoundTrip) {
  std::mt19937 rng(20261203);
  // Biased towards bytes that make or break multi-byte sequences.
  const uint8_t interesting[] = {0x00, 0x1b, '\\', 'x', 'a', 0x7f, 0x80, 0x9b, 0xa0, 0xbf,
                                 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
  for (int round = 0; round < 20000; ++round) {
    std::string s(rng() % 12, '\0');
    for (char& c : s)
      c = static_cast<char>(rng() % 2 ? interesting[rng() % sizeof interesting] : rng() % 256);
    EXPECT_EQ(is_clean(s), oracle_clean(s)) << escaped(s);
    expect_round_trip(s);
    std::string out;
    const unsigned r = assign_escaped(s, out);
    // kEscaped exactly when some byte was written as \xNN: the unescaped
    // text differs from the escaped text by more than doubled backslashes.
    std::string doubled;
    for (char c : s) doubled += c == '\\' ? "\\\\"s : std::string(1, c);
    EXPECT_EQ((r & kEscaped) != 0, out != doubled) << out;
  }
}

}  // namespace
}  // namespace tapir::text
