// Timestamps as text: one format for every JSON log line (access log,
// database availability events) and every time the API returns.
#pragma once

#include <chrono>
#include <string>

namespace secretsd::format {

// "2024-01-15T10:30:00.000Z": ISO 8601 in UTC with milliseconds, the shape
// of JavaScript's Date.toISOString(). Times before 1970 count back (-1 ms is
// "1969-12-31T23:59:59.999Z"); years past 9999 are written in full.
std::string iso8601_utc_millis(long long epoch_ms);

// The same for a clock reading (always within range).
std::string iso8601_utc_millis(std::chrono::system_clock::time_point t);

}  // namespace secretsd::format
