#include "secrets/validation.h"

#include <charconv>

#include "http/json_io.h"

namespace secretsd::secrets {
namespace {

using http::FieldStatus;

ApiError bad_request(std::string message) { return ApiError{400, std::move(message)}; }

// A name sent to PostgreSQL as a text parameter must arrive as sent:
// libpq cuts a text parameter at NUL (so "A%00B" would name secret "A"),
// and invalid UTF-8 is refused with a message quoting the bytes. What a
// valid key, scope or node id is, is the extension's rule alone
// (secrets.check_key, secrets.check_scope), checked in the statement.
std::optional<ApiError> check_text(const std::string& field, std::string_view text) {
  if (text.size() <= kMaxNameBytes && http::is_printable_utf8(text)) return std::nullopt;
  return bad_request(field + " must be at most 1024 bytes of printable UTF-8");
}

// One query parameter: absent, or given exactly once (a repeated parameter
// is ambiguous, so it is refused rather than silently picking one).
std::variant<std::optional<std::string>, ApiError> query_param(const httplib::Request& req,
                                                               const std::string& name) {
  auto n = req.get_param_value_count(name.c_str());
  if (n == 0) return std::optional<std::string>{};
  if (n > 1) return bad_request(name + " must be given at most once");
  return std::optional<std::string>{req.get_param_value(name.c_str())};
}

// An optional string field of the JSON body; null counts as absent.
std::variant<std::optional<std::string>, ApiError> body_string(const nlohmann::json* body,
                                                               const std::string& name) {
  if (body == nullptr) return std::optional<std::string>{};
  auto field = http::get_string_field(*body, name);
  switch (field.status) {
    case FieldStatus::Ok: return std::optional<std::string>{std::move(field.value)};
    case FieldStatus::Missing:
    case FieldStatus::Null: return std::optional<std::string>{};
    case FieldStatus::WrongType: break;
  }
  return bad_request(name + " must be a string");
}

// The field from the query and/or the body; they must agree when both given.
std::variant<std::optional<std::string>, ApiError> query_or_body(const httplib::Request& req,
                                                                 const nlohmann::json* body,
                                                                 const std::string& name) {
  auto q = query_param(req, name);
  if (auto* e = std::get_if<ApiError>(&q)) return *e;
  auto b = body_string(body, name);
  if (auto* e = std::get_if<ApiError>(&b)) return *e;
  auto& from_query = std::get<std::optional<std::string>>(q);
  auto& from_body = std::get<std::optional<std::string>>(b);
  if (from_query && from_body && *from_query != *from_body) {
    return bad_request(name + " differs between the query string and the body");
  }
  return from_query ? from_query : from_body;
}

std::optional<ApiError> check_value(const std::string& value) {
  if (value.size() > kMaxValueBytes) return bad_request("value must be 65536 bytes or less");
  return std::nullopt;
}

std::optional<ApiError> check_description(const std::optional<std::string>& d) {
  if (d && d->size() > kMaxDescriptionBytes) {
    return bad_request("description must be 4096 bytes or less");
  }
  return std::nullopt;
}

std::variant<nlohmann::json, ApiError> parse_body(std::string_view body) {
  auto parsed = http::parse_json_object(body);
  if (!parsed) return bad_request("Request body must be a JSON object");
  return std::move(*parsed);
}

// Non-negative decimal integer without sign or spaces.
std::optional<long long> parse_count(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ApiError> check_key_text(std::string_view key) { return check_text("key", key); }

std::variant<Scope, ApiError> read_scope(const httplib::Request& req, const nlohmann::json* body,
                                         const ScopeDefaults& defaults) {
  auto scope = query_or_body(req, body, "scope");
  if (auto* e = std::get_if<ApiError>(&scope)) return *e;
  auto node = query_or_body(req, body, "node_id");
  if (auto* e = std::get_if<ApiError>(&node)) return *e;

  // Only the defaults are decided here; whether the pair is valid is
  // secrets.check_scope's rule, in the statement.
  Scope out;
  auto& node_id = std::get<std::optional<std::string>>(node);
  auto& scope_name = std::get<std::optional<std::string>>(scope);
  out.scope = scope_name ? *scope_name : (node_id ? "node" : "integration");
  if (node_id) {
    out.node_id = *node_id;
  } else if (out.scope == "node") {
    out.node_id = defaults.caller_node_id;
  }
  if (auto e = check_text("scope", out.scope)) return *e;
  if (auto e = check_text("node_id", out.node_id)) return *e;
  return out;
}

std::variant<ListQuery, ApiError> read_list_query(const httplib::Request& req) {
  ListQuery q;
  auto scope = query_param(req, "scope");
  if (auto* e = std::get_if<ApiError>(&scope)) return *e;
  if (auto& sc = std::get<std::optional<std::string>>(scope)) {
    if (auto e = check_text("scope", *sc)) return *e;
    q.scope = *sc;
  }
  auto node = query_param(req, "node_id");
  if (auto* e = std::get_if<ApiError>(&node)) return *e;
  if (auto& n = std::get<std::optional<std::string>>(node)) {
    if (auto e = check_text("node_id", *n)) return *e;
    q.node_id = *n;
  }
  auto limit = query_param(req, "limit");
  if (auto* e = std::get_if<ApiError>(&limit)) return *e;
  if (auto& l = std::get<std::optional<std::string>>(limit)) {
    auto v = parse_count(*l);
    if (!v || *v < 1 || *v > kMaxPageSize) return bad_request("limit must be an integer from 1 to 500");
    q.limit = static_cast<int>(*v);
  }
  auto offset = query_param(req, "offset");
  if (auto* e = std::get_if<ApiError>(&offset)) return *e;
  if (auto& o = std::get<std::optional<std::string>>(offset)) {
    auto v = parse_count(*o);
    if (!v) return bad_request("offset must be a non-negative integer");
    q.offset = *v;
  }
  return q;
}

std::variant<CreateRequest, ApiError> read_create_request(const httplib::Request& req,
                                                          std::string_view body,
                                                          const ScopeDefaults& defaults) {
  auto parsed = parse_body(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const auto& obj = std::get<nlohmann::json>(parsed);

  CreateRequest out;
  auto key = http::get_string_field(obj, "key");
  if (key.status == FieldStatus::Missing || key.status == FieldStatus::Null) {
    return bad_request("key is required");
  }
  if (!key.ok()) return bad_request("key must be a string");
  if (auto e = check_key_text(key.value)) return *e;
  out.key = std::move(key.value);

  auto value = http::get_string_field(obj, "value");
  if (value.status == FieldStatus::Missing || value.status == FieldStatus::Null) {
    return bad_request("value is required");
  }
  if (!value.ok()) return bad_request("value must be a string");
  if (auto e = check_value(value.value)) return *e;
  out.value = std::move(value.value);

  auto type = body_string(&obj, "value_type");
  if (auto* e = std::get_if<ApiError>(&type)) return *e;
  if (auto& t = std::get<std::optional<std::string>>(type)) out.value_type = *t;
  if (auto e = check_text("value_type", out.value_type)) return *e;

  auto description = body_string(&obj, "description");
  if (auto* e = std::get_if<ApiError>(&description)) return *e;
  out.description = std::get<std::optional<std::string>>(description);
  if (auto e = check_description(out.description)) return *e;

  auto scope = read_scope(req, &obj, defaults);
  if (auto* e = std::get_if<ApiError>(&scope)) return *e;
  out.scope = std::get<Scope>(scope);
  return out;
}

std::variant<UpdateRequest, ApiError> read_update_request(const httplib::Request& req,
                                                          std::string_view body,
                                                          const ScopeDefaults& defaults) {
  auto parsed = parse_body(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const auto& obj = std::get<nlohmann::json>(parsed);

  UpdateRequest out;
  // An explicit null value would mean "erase"; the API has no such verb,
  // so it is refused rather than taken as "keep".
  auto value = http::get_string_field(obj, "value");
  if (value.status == FieldStatus::Null || value.status == FieldStatus::WrongType) {
    return bad_request("value must be a string");
  }
  if (value.ok()) {
    if (auto e = check_value(value.value)) return *e;
    out.value = std::move(value.value);
  }
  auto description = body_string(&obj, "description");
  if (auto* e = std::get_if<ApiError>(&description)) return *e;
  out.description = std::get<std::optional<std::string>>(description);
  if (auto e = check_description(out.description)) return *e;
  if (!out.value && !out.description) {
    return bad_request("Provide a value, a description, or both");
  }

  auto scope = read_scope(req, &obj, defaults);
  if (auto* e = std::get_if<ApiError>(&scope)) return *e;
  out.scope = std::get<Scope>(scope);
  return out;
}

namespace {

constexpr long long kMaxVersion = 2147483647;
const char* kVersionMessage = "version must be an integer from 1 to 2147483647";

// "v<digits>" inside double quotes, nothing else.
std::optional<int> parse_etag(std::string_view tag) {
  if (tag.size() < 4 || tag.front() != '"' || tag.back() != '"' || tag[1] != 'v') return std::nullopt;
  auto v = parse_count(std::string(tag.substr(2, tag.size() - 3)));
  if (!v || *v < 1 || *v > kMaxVersion) return std::nullopt;
  return static_cast<int>(*v);
}

}  // namespace

std::string etag_for(long long version) { return "\"v" + std::to_string(version) + "\""; }

std::variant<std::optional<int>, ApiError> read_if_match(const httplib::Request& req) {
  auto n = req.get_header_value_count("If-Match");
  if (n == 0) return std::optional<int>{};
  const char* bad = "If-Match must be one ETag of this API (\"v<version>\") or *";
  if (n > 1) return bad_request(bad);
  std::string value = req.get_header_value("If-Match");
  auto first = value.find_first_not_of(" \t");
  auto last = value.find_last_not_of(" \t");
  if (first == std::string::npos) return bad_request(bad);
  std::string_view tag(value.data() + first, last - first + 1);
  if (tag == "*") return std::optional<int>{kAnyVersion};
  auto version = parse_etag(tag);
  if (!version) return bad_request(bad);
  return std::optional<int>{*version};
}

std::variant<std::optional<int>, ApiError> read_version_query(const httplib::Request& req) {
  auto param = query_param(req, "version");
  if (auto* e = std::get_if<ApiError>(&param)) return *e;
  auto& text = std::get<std::optional<std::string>>(param);
  if (!text) return std::optional<int>{};
  auto v = parse_count(*text);
  if (!v || *v < 1 || *v > kMaxVersion) return bad_request(kVersionMessage);
  return std::optional<int>{static_cast<int>(*v)};
}

std::variant<RollbackRequest, ApiError> read_rollback_request(const httplib::Request& req,
                                                              std::string_view body,
                                                              const ScopeDefaults& defaults) {
  auto parsed = parse_body(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  const auto& obj = std::get<nlohmann::json>(parsed);
  RollbackRequest out;
  auto version = http::get_int_field(obj, "version");
  if (version.status == FieldStatus::Missing || version.status == FieldStatus::Null) {
    return bad_request("version is required");
  }
  if (!version.ok() || version.value < 1 || version.value > kMaxVersion) {
    return bad_request(kVersionMessage);
  }
  out.version = static_cast<int>(version.value);
  auto scope = read_scope(req, &obj, defaults);
  if (auto* e = std::get_if<ApiError>(&scope)) return *e;
  out.scope = std::get<Scope>(scope);
  return out;
}

std::variant<Scope, ApiError> read_restore_request(const httplib::Request& req,
                                                   std::string_view body,
                                                   const ScopeDefaults& defaults) {
  if (body.empty()) return read_scope(req, nullptr, defaults);
  auto parsed = parse_body(body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return *e;
  return read_scope(req, &std::get<nlohmann::json>(parsed), defaults);
}

}  // namespace secretsd::secrets
