#include "http/access_log.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "format/time.h"

namespace secretsd::http {

namespace {

constexpr std::size_t kMaxPathChars = 256;
constexpr std::size_t kMaxMethodChars = 16;

std::string truncated(const std::string& s, std::size_t max) {
  return s.size() <= max ? s : s.substr(0, max);
}

}  // namespace

std::string format_access_line(const AccessRecord& r) {
  nlohmann::json line = {
      {"time", format::iso8601_utc_millis(r.time)},
      {"method", truncated(r.method, kMaxMethodChars)},
      {"path", truncated(r.path, kMaxPathChars)},
      {"status", r.status},
      {"duration_ms", std::round(r.duration_ms * 1000.0) / 1000.0},
      {"remote_addr", r.remote_addr},
  };
  if (!r.actor_kind.empty()) line["actor"] = truncated(r.actor_kind, 32);
  if (!r.failure.empty()) line["failure"] = truncated(r.failure, 64);
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void AccessLog::write(const AccessRecord& record) { write_line(format_access_line(record)); }

void AccessLog::write_line(const std::string& line) {
  std::lock_guard<std::mutex> lock(mutex_);
  out_ << line << '\n';
  out_.flush();
}

}  // namespace secretsd::http
