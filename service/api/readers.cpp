#include "api/readers.h"

#include <charconv>
#include <regex>

#include "http/json_io.h"

namespace secretsd::api {
namespace {

ApiError bad_request(std::string message) { return ApiError{400, std::move(message)}; }

constexpr long long kMaxVersion = 2147483647;

// "v<digits>" inside double quotes, nothing else.
std::optional<int> parse_etag(std::string_view tag) {
  if (tag.size() < 4 || tag.front() != '"' || tag.back() != '"' || tag[1] != 'v') return std::nullopt;
  auto v = parse_count(std::string(tag.substr(2, tag.size() - 3)));
  if (!v || *v < 1 || *v > kMaxVersion) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace

Result<nlohmann::json> json_body(const Request& req, const char* invalid_message) {
  auto body = http::parse_json_object(req.body());
  if (!body) return bad_request(invalid_message);
  return std::move(*body);
}

Result<nlohmann::json> optional_json_body(const Request& req, const char* invalid_message) {
  if (req.body().find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  return json_body(req, invalid_message);
}

Result<std::string> required_string(const nlohmann::json& body, const std::string& field) {
  auto result = http::get_string_field(body, field);
  switch (result.status) {
    case http::FieldStatus::Ok: return std::move(result.value);
    case http::FieldStatus::Missing:
    case http::FieldStatus::Null: return bad_request(field + " is required");
    case http::FieldStatus::WrongType: break;
  }
  return bad_request(field + " must be a string");
}

Result<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                   const std::string& field) {
  auto result = http::get_string_field(body, field);
  switch (result.status) {
    case http::FieldStatus::Ok: return std::optional<std::string>{std::move(result.value)};
    case http::FieldStatus::Missing:
    case http::FieldStatus::Null: return std::optional<std::string>{};
    case http::FieldStatus::WrongType: break;
  }
  return bad_request(field + " must be a string");
}

Result<std::optional<std::string>> query_param(const Request& req, const std::string& name) {
  auto n = req.query_count(name.c_str());
  if (n == 0) return std::optional<std::string>{};
  if (n > 1) return bad_request(name + " must be given at most once");
  return std::optional<std::string>{req.query(name.c_str())};
}

Result<std::optional<std::string>> timestamp_param(const Request& req, const std::string& name) {
  static const std::regex kRfc3339(
      R"(\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,6})?)"
      R"((Z|[+-]([01]\d|2[0-3]):[0-5]\d))");
  auto value = query_param(req, name);
  if (!value.ok()) return value;
  const std::optional<std::string>& text = value.value();
  if (text && !std::regex_match(*text, kRfc3339)) {
    return bad_request(name + " must be an RFC 3339 timestamp, e.g. 2026-12-07T21:00:00Z");
  }
  return text;
}

std::optional<long long> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

std::string etag_for(long long version) { return "\"v" + std::to_string(version) + "\""; }

Result<std::optional<int>> if_match(const Request& req) {
  auto n = req.header_count("If-Match");
  if (n == 0) return std::optional<int>{};
  const char* bad = "If-Match must be one ETag of this API (\"v<version>\") or *";
  if (n > 1) return bad_request(bad);
  std::string value = req.header("If-Match");
  auto first = value.find_first_not_of(" \t");
  auto last = value.find_last_not_of(" \t");
  if (first == std::string::npos) return bad_request(bad);
  std::string_view tag(value.data() + first, last - first + 1);
  if (tag == "*") return std::optional<int>{kAnyVersion};
  auto version = parse_etag(tag);
  if (!version) return bad_request(bad);
  return std::optional<int>{*version};
}

}  // namespace secretsd::api
