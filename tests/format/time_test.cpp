// The one timestamp format (format/time.h): log lines and API times.
#include <chrono>
#include <limits>

#include <gtest/gtest.h>

#include "format/time.h"

namespace secretsd::format {
namespace {

using std::chrono::milliseconds;
using std::chrono::system_clock;

TEST(FormatTime, EpochMillisecondsAsJavaScriptsToISOString) {
  EXPECT_EQ(iso8601_utc_millis(0LL), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(iso8601_utc_millis(1705314600000LL), "2024-01-15T10:30:00.000Z");
  EXPECT_EQ(iso8601_utc_millis(1704164645678LL), "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(iso8601_utc_millis(1704164645009LL), "2024-01-02T03:04:05.009Z") << "milliseconds padded";
  EXPECT_EQ(iso8601_utc_millis(951782400000LL), "2000-02-29T00:00:00.000Z") << "leap day";
  EXPECT_EQ(iso8601_utc_millis(253402300799999LL), "9999-12-31T23:59:59.999Z");
}

TEST(FormatTime, TimesBefore1970CountBack) {
  EXPECT_EQ(iso8601_utc_millis(-1LL), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(iso8601_utc_millis(-1000LL), "1969-12-31T23:59:59.000Z");
  EXPECT_EQ(iso8601_utc_millis(-1001LL), "1969-12-31T23:59:58.999Z");
}

TEST(FormatTime, TheWholeRangeOfMillisecondsHasAText) {
  // Years past 9999 are written in full (no undefined behaviour at the ends).
  const std::string max = iso8601_utc_millis(std::numeric_limits<long long>::max());
  EXPECT_EQ(max.substr(max.size() - 5), ".807Z") << max;
  const std::string min = iso8601_utc_millis(std::numeric_limits<long long>::min());
  EXPECT_EQ(min.substr(min.size() - 5), ".192Z") << min;
}

TEST(FormatTime, AClockReadingHasTheSameShape) {
  EXPECT_EQ(iso8601_utc_millis(system_clock::time_point(milliseconds(1704164645678LL))),
            "2024-01-02T03:04:05.678Z");
  EXPECT_EQ(iso8601_utc_millis(system_clock::time_point(milliseconds(-1))),
            "1969-12-31T23:59:59.999Z");
  const std::string now = iso8601_utc_millis(system_clock::now());
  ASSERT_EQ(now.size(), 24u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now.back(), 'Z');
}

}  // namespace
}  // namespace secretsd::format
