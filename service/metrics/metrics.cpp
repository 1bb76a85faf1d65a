#include "metrics/metrics.h"

#include <array>
#include <cstdio>
#include <sstream>

namespace secretsd::metrics {
namespace {

// A path segment's placeholder name for the capture group after it.
std::string placeholder_for(const std::string& segment) {
  static const std::map<std::string, std::string> kNames = {
      {"secrets", "key"},      {"settings", "name"}, {"apps", "app_id"},
      {"nodes", "node_id"},    {"users", "user_id"},  {"static", "path"},
      {"households", "household_id"}, {"members", "user_id"}, {"sessions", "session_id"},
  };
  const auto it = kNames.find(segment);
  return "{" + (it == kNames.end() ? std::string("id") : it->second) + "}";
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", v);  // 0.005, not 0.0050000000000000001
  return buf;
}

void header(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

void labelled_counter(std::ostringstream& out, const char* name, const char* label, const char* help,
                      const std::map<std::string, std::uint64_t>& values) {
  header(out, name, "counter", help);
  for (const auto& [value, count] : values) {
    out << name << '{' << label << "=\"" << escape_label(value) << "\"} " << count << '\n';
  }
}

}  // namespace

Registry& global() {
  static Registry registry;
  return registry;
}

const std::vector<double>& Registry::latency_buckets() {
  static const std::vector<double> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1,    2.5,   5,    10};
  return kBuckets;
}

std::string method_label(const std::string& method) {
  static const std::array<const char*, 7> kKnown = {"GET",   "HEAD",   "POST",   "PUT",
                                                    "PATCH", "DELETE", "OPTIONS"};
  for (const char* known : kKnown) {
    if (method == known) return method;
  }
  return "other";
}

std::string route_template(const std::string& pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] != '(') {
      out += pattern[i++];
      continue;
    }
    // Skip the whole group, nested parentheses and escapes included.
    int depth = 0;
    do {
      if (pattern[i] == '\\') ++i;
      else if (pattern[i] == '(') ++depth;
      else if (pattern[i] == ')') --depth;
      ++i;
    } while (i < pattern.size() && depth > 0);
    const std::size_t end = out.empty() ? 0 : out.size() - 1;  // the '/' before the group
    const std::size_t start = out.rfind('/', end == 0 ? 0 : end - 1);
    const std::string segment =
        start == std::string::npos ? std::string() : out.substr(start + 1, end - start - 1);
    out += placeholder_for(segment);
  }
  return out;
}

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Registry::request(const std::string& method, const std::string& route, int status,
                       double seconds) {
  const std::string m = method_label(method);
  const auto& buckets = latency_buckets();
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{m, route, status}];
  Histogram& h = latency_[{m, route}];
  if (h.counts.empty()) h.counts.assign(buckets.size(), 0);
  for (std::size_t b = 0; b < buckets.size(); ++b) {
    if (seconds <= buckets[b]) {
      ++h.counts[b];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

void Registry::auth_failure(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++auth_failures_[kind];
}

void Registry::rate_limit_refused(const std::string& limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++rate_limited_[limit];
}

void Registry::restart_outcome(const std::string& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++restarts_[status];
}

void Registry::read(const std::string& target) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++reads_[target];
}

std::string Registry::render() const {
  std::ostringstream out;
  const auto& buckets = latency_buckets();
  std::lock_guard<std::mutex> lock(mutex_);

  header(out, "secretsd_http_requests_total", "counter",
         "HTTP requests answered, by method, route template and status.");
  for (const auto& [key, count] : requests_) {
    const auto& [method, route, status] = key;
    out << "secretsd_http_requests_total{method=\"" << method << "\",route=\""
        << escape_label(route) << "\",status=\"" << status << "\"} " << count << '\n';
  }

  header(out, "secretsd_http_request_duration_seconds", "histogram",
         "Time from a request's first byte to its response, by method and route template.");
  for (const auto& [key, h] : latency_) {
    const std::string labels =
        "method=\"" + key.first + "\",route=\"" + escape_label(key.second) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < buckets.size(); ++b) {
      cumulative += h.counts[b];
      out << "secretsd_http_request_duration_seconds_bucket{" << labels << ",le=\""
          << number(buckets[b]) << "\"} " << cumulative << '\n';
    }
    out << "secretsd_http_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} "
        << h.count << '\n';
    out << "secretsd_http_request_duration_seconds_sum{" << labels << "} " << number(h.sum)
        << '\n';
    out << "secretsd_http_request_duration_seconds_count{" << labels << "} " << h.count << '\n';
  }

  labelled_counter(out, "secretsd_auth_failures_total", "kind",
                   "Requests refused for their credentials, by kind.", auth_failures_);
  labelled_counter(out, "secretsd_rate_limited_total", "limit",
                   "Requests refused by a rate limit (429), by limit.", rate_limited_);
  labelled_counter(out, "secretsd_runtime_restarts_total", "outcome",
                   "Runtime restarts after a settings change, by outcome.", restarts_);
  labelled_counter(out, "secretsd_secret_reads_total", "target",
                   "Reads of secrets, by the server that answered them.", reads_);
  return out.str();
}

}  // namespace secretsd::metrics
