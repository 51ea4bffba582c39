// RFC 3339 formatting and parsing, held to GNU date(1) as the oracle.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "common/time.h"

namespace tapir {
namespace {

std::string date_utc(long long secs) {
  std::string cmd = "date -u -d @" + std::to_string(secs) + " +%Y-%m-%dT%H:%M:%SZ";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {};
  char buf[64] = {0};
  if (std::fgets(buf, sizeof buf, p) == nullptr) buf[0] = 0;
  pclose(p);
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

TEST(Rfc3339, WholeSecondsMatchDate) {
  for (long long secs : {0LL, 1LL, 86399LL, 951782400LL /* 2000-02-29 */, 1362692526LL,
                         4102444799LL /* 2099-12-31 */, -1LL, -86401LL, -2208988800LL /* 1900 */}) {
    const std::string want = date_utc(secs);
    ASSERT_FALSE(want.empty());
    EXPECT_EQ(format_rfc3339(secs * kNsPerSec), want) << secs;
    TimeNs back = 0;
    ASSERT_TRUE(parse_rfc3339(want, back)) << want;
    EXPECT_EQ(back, secs * kNsPerSec) << want;
  }
}

TEST(Rfc3339, FractionsUseThreeSixOrNineDigits) {
  const TimeNs base = 1362692526 * kNsPerSec;
  EXPECT_EQ(format_rfc3339(base + 939 * kNsPerMs), "2013-03-07T21:42:06.939Z");
  EXPECT_EQ(format_rfc3339(base + 939527 * kNsPerUs), "2013-03-07T21:42:06.939527Z");
  EXPECT_EQ(format_rfc3339(base + 939527001), "2013-03-07T21:42:06.939527001Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
}

TEST(Rfc3339, ParsesOffsetsAndRejectsGarbage) {
  TimeNs t = 0;
  ASSERT_TRUE(parse_rfc3339("2013-03-07T22:42:06.5+01:00", t));
  EXPECT_EQ(t, 1362692526 * kNsPerSec + 500 * kNsPerMs);
  ASSERT_TRUE(parse_rfc3339("2013-03-07 21:42:06z", t));
  EXPECT_EQ(t, 1362692526 * kNsPerSec);
  for (const char* bad : {"", "2013-03-07", "2013-13-07T00:00:00Z", "2013-03-07T24:00:00Z",
                          "2013-03-07T00:00:00", "2013-03-07T00:00:00Zjunk", "2013-03-07T00:00:00.Z"})
    EXPECT_FALSE(parse_rfc3339(bad, t)) << bad;
}

// 64-bit nanoseconds end in 2262 and begin in 1677: times outside are errors
// (found by the API query-string fuzzer as a signed overflow).
TEST(Rfc3339, OutOfRangeIsAnErrorNotAWrap) {
  TimeNs t = 0;
  EXPECT_FALSE(parse_rfc3339("4046-11-14T22:20:00Z", t));
  EXPECT_FALSE(parse_rfc3339("2262-04-12T00:00:00Z", t));
  EXPECT_FALSE(parse_rfc3339("1677-09-20T00:00:00Z", t));
  EXPECT_TRUE(parse_rfc3339("2262-04-11T00:00:00Z", t));
  EXPECT_TRUE(parse_rfc3339("1677-09-22T00:00:00Z", t));
}

}  // namespace
}  // namespace tapir
