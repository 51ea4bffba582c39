#include "common/time.h"

#include <cstdio>
#include <string>

namespace tapir {
namespace {

// Days since 1970-01-01 to civil date, and back (proleptic Gregorian); the
// well-known algorithms from H. Hinnant's "chrono-compatible low-level date
// algorithms", which need no time zone database and no libc support.
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += (m <= 2);
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

namespace {

void put_digits(char* p, unsigned v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

// Written digit by digit: it is called for every timestamp of every event,
// and snprintf was a visible share of `tapir decode`'s time.
void append_rfc3339(TimeNs t, std::string& out) {
  int64_t secs = t / kNsPerSec;
  int64_t nanos = t % kNsPerSec;
  if (nanos < 0) {
    nanos += kNsPerSec;
    secs -= 1;
  }
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned mo, d;
  civil_from_days(days, y, mo, d);
  char buf[40];
  char* p = buf;
  if (y < 0 || y > 9999) {  // outside RFC 3339's four digits: still readable
    const std::string ys = std::to_string(y);
    out += ys;
  } else {
    put_digits(p, static_cast<unsigned>(y), 4);
    p += 4;
  }
  *p++ = '-';
  put_digits(p, mo, 2);
  p += 2;
  *p++ = '-';
  put_digits(p, d, 2);
  p += 2;
  *p++ = 'T';
  put_digits(p, static_cast<unsigned>(rem / 3600), 2);
  p += 2;
  *p++ = ':';
  put_digits(p, static_cast<unsigned>(rem / 60 % 60), 2);
  p += 2;
  *p++ = ':';
  put_digits(p, static_cast<unsigned>(rem % 60), 2);
  p += 2;
  if (nanos != 0) {
    *p++ = '.';
    if (nanos % 1000000 == 0) {
      put_digits(p, static_cast<unsigned>(nanos / 1000000), 3);
      p += 3;
    } else if (nanos % 1000 == 0) {
      put_digits(p, static_cast<unsigned>(nanos / 1000), 6);
      p += 6;
    } else {
      put_digits(p, static_cast<unsigned>(nanos), 9);
      p += 9;
    }
  }
  *p++ = 'Z';
  out.append(buf, static_cast<size_t>(p - buf));
}

std::string format_rfc3339(TimeNs t) {
  std::string out;
  append_rfc3339(t, out);
  return out;
}

bool parse_rfc3339(const std::string& s, TimeNs& out) {
  int y, mo, d, h, mi, sec;
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec,
                  &consumed) != 6)
    return false;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return false;
  size_t i = static_cast<size_t>(consumed);
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (s[i] - '0');
        ++digits;
      }
      ++i;
    }
    if (digits == 0) return false;
    while (digits++ < 9) nanos *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh, om;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return false;
    offset = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    i += 6;
  } else {
    return false;
  }
  if (i != s.size()) return false;
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
  // Nanoseconds since 1970 in 64 bits cover 1677-09-21 to 2262-04-11; a time
  // outside that is an error, not a wrapped value.
  int64_t ns = 0;
  if (__builtin_mul_overflow(secs, kNsPerSec, &ns) || __builtin_add_overflow(ns, nanos, &ns))
    return false;
  out = ns;
  return true;
}

}  // namespace tapir
