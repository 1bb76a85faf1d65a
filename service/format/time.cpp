#include "format/time.h"

#include <cstdio>
#include <ctime>

namespace secretsd::format {

std::string iso8601_utc_millis(long long epoch_ms) {
  // Floor division: the milliseconds of a time before 1970 count forward
  // from the second before it.
  long long secs = epoch_ms / 1000;
  int millis = static_cast<int>(epoch_ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  // Cannot fail with a 64-bit time_t: any long long of milliseconds is a
  // year that fits tm_year.
  gmtime_r(&t, &tm);
  char buf[80];  // room for any int fields, so the compiler can prove no truncation
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900LL,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::string iso8601_utc_millis(std::chrono::system_clock::time_point t) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  return iso8601_utc_millis(duration_cast<milliseconds>(t.time_since_epoch()).count());
}

}  // namespace secretsd::format
