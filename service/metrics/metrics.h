// Process-wide Prometheus metrics of secretsd, rendered in the text format
// by GET /metrics (health/metrics_routes.cpp).
//
// No label ever carries user input: routes are the templates they were
// registered with (/api/secrets/{key}, never a key name), methods outside a
// fixed list become "other", and every other label is a fixed word chosen
// by the code that counts (a limit's name, an auth failure's kind, a restart
// outcome). One registry per process, like the default registry of the
// Prometheus client libraries: the hooks sit deep in the auth, settings and
// HTTP code, and what they count is the process's own.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace secretsd::metrics {

class Registry {
 public:
  // One answered request. `route` is a template or "other".
  void request(const std::string& method, const std::string& route, int status, double seconds);
  // "missing", "invalid", "forbidden", "bad_login", "bad_refresh",
  // "refresh_reuse", "admin_key", "bad_password" (a password change).
  void auth_failure(const std::string& kind);
  void rate_limit_refused(const std::string& limit);
  // A runtime restart's outcome ("ok", "failed", "timeout", ...).
  void restart_outcome(const std::string& status);
  // A read of secrets served by the primary ("primary") or a standby.
  void read(const std::string& target);

  // Every series above, in the text exposition format (version 0.0.4).
  std::string render() const;

  static const std::vector<double>& latency_buckets();

 private:
  struct Histogram {
    std::vector<std::uint64_t> counts;  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> requests_;
  std::map<std::pair<std::string, std::string>, Histogram> latency_;
  std::map<std::string, std::uint64_t> auth_failures_;
  std::map<std::string, std::uint64_t> rate_limited_;
  std::map<std::string, std::uint64_t> restarts_;
  std::map<std::string, std::uint64_t> reads_;
};

Registry& global();

// GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS as they are; anything else
// "other" (a method is client input).
std::string method_label(const std::string& method);

// A route pattern as registered (an ECMAScript regex such as
// "/api/secrets/([^/]+)/versions") as a template: each capture group becomes
// a placeholder named after the path segment before it
// ("/api/secrets/{key}/versions").
std::string route_template(const std::string& pattern);

// A label value escaped for the text format (backslash, quote, newline).
std::string escape_label(const std::string& value);

}  // namespace secretsd::metrics
