#include "secrets/validation.h"

#include "api/readers.h"
#include "http/json_io.h"

namespace secretsd::secrets {
namespace {

using http::FieldStatus;
using OptionalText = std::optional<std::string>;

ApiError bad_request(std::string message) { return ApiError{400, std::move(message)}; }

// The secrets reference's wording of a body that is not a JSON object.
constexpr const char* kNotAnObject = "Request body must be a JSON object";

// A name sent to PostgreSQL as a text parameter must arrive as sent:
// libpq cuts a text parameter at NUL (so "A%00B" would name secret "A"),
// and invalid UTF-8 is refused with a message quoting the bytes. What a
// valid key, scope or node id is, is the extension's rule alone
// (secrets.check_key, secrets.check_scope), checked in the statement.
std::optional<ApiError> check_text(const std::string& field, std::string_view text) {
  if (text.size() <= kMaxNameBytes && http::is_printable_utf8(text)) return std::nullopt;
  return bad_request(field + " must be at most 1024 bytes of printable UTF-8");
}

// An optional string field of the JSON body (may be null); null counts as absent.
Result<OptionalText> body_string(const nlohmann::json* body, const std::string& name) {
  if (body == nullptr) return OptionalText{};
  return api::optional_string(*body, name);
}

// The field from the query and/or the body; they must agree when both given.
Result<OptionalText> query_or_body(const Request& req, const nlohmann::json* body,
                                   const std::string& name) {
  auto from_query = api::query_param(req, name).value();
  auto from_body = body_string(body, name).value();
  if (from_query && from_body && *from_query != *from_body) {
    return bad_request(name + " differs between the query string and the body");
  }
  return from_query ? from_query : from_body;
}

std::optional<ApiError> check_value(const std::string& value) {
  if (value.size() > kMaxValueBytes) return bad_request("value must be 65536 bytes or less");
  return std::nullopt;
}

std::optional<ApiError> check_description(const OptionalText& d) {
  if (d && d->size() > kMaxDescriptionBytes) {
    return bad_request("description must be 4096 bytes or less");
  }
  return std::nullopt;
}

constexpr long long kMaxVersion = 2147483647;
const char* kVersionMessage = "version must be an integer from 1 to 2147483647";

// Runs a reader that refuses by throwing (value()) and returns its Result.
template <typename Fn>
auto refusal_as_result(Fn&& fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const ApiError& e) {
    return e;
  }
}

}  // namespace

std::optional<ApiError> check_key_text(std::string_view key) { return check_text("key", key); }

Result<Scope> read_scope(const Request& req, const nlohmann::json* body,
                         const ScopeDefaults& defaults) {
  return refusal_as_result([&] {
    auto scope_name = query_or_body(req, body, "scope").value();
    auto node_id = query_or_body(req, body, "node_id").value();
    // Only the defaults are decided here; whether the pair is valid is
    // secrets.check_scope's rule, in the statement.
    Scope out;
    out.scope = scope_name ? *scope_name : (node_id ? "node" : "integration");
    if (node_id) {
      out.node_id = *node_id;
    } else if (out.scope == "node") {
      out.node_id = defaults.caller_node_id;
    }
    if (auto e = check_text("scope", out.scope)) throw *e;
    if (auto e = check_text("node_id", out.node_id)) throw *e;
    return out;
  });
}

Result<ListQuery> read_list_query(const Request& req) {
  return refusal_as_result([&] {
    ListQuery q;
    if (auto sc = api::query_param(req, "scope").value()) {
      if (auto e = check_text("scope", *sc)) throw *e;
      q.scope = *sc;
    }
    if (auto n = api::query_param(req, "node_id").value()) {
      if (auto e = check_text("node_id", *n)) throw *e;
      q.node_id = *n;
    }
    if (auto l = api::query_param(req, "limit").value()) {
      auto v = api::parse_count(*l);
      if (!v || *v < 1 || *v > kMaxPageSize) throw bad_request("limit must be an integer from 1 to 500");
      q.limit = static_cast<int>(*v);
    }
    if (auto o = api::query_param(req, "offset").value()) {
      auto v = api::parse_count(*o);
      if (!v) throw bad_request("offset must be a non-negative integer");
      q.offset = *v;
    }
    return q;
  });
}

Result<CreateRequest> read_create_request(const Request& req, const ScopeDefaults& defaults) {
  return refusal_as_result([&] {
    const auto obj = api::json_body(req, kNotAnObject).value();
    CreateRequest out;
    out.key = api::required_string(obj, "key").value();
    if (auto e = check_key_text(out.key)) throw *e;
    out.value = api::required_string(obj, "value").value();
    if (auto e = check_value(out.value)) throw *e;
    if (auto t = api::optional_string(obj, "value_type").value()) out.value_type = *t;
    if (auto e = check_text("value_type", out.value_type)) throw *e;
    out.description = api::optional_string(obj, "description").value();
    if (auto e = check_description(out.description)) throw *e;
    out.scope = read_scope(req, &obj, defaults).value();
    return out;
  });
}

Result<UpdateRequest> read_update_request(const Request& req, const ScopeDefaults& defaults) {
  return refusal_as_result([&] {
    const auto obj = api::json_body(req, kNotAnObject).value();
    UpdateRequest out;
    // An explicit null value would mean "erase"; the API has no such verb,
    // so it is refused rather than taken as "keep".
    auto value = http::get_string_field(obj, "value");
    if (value.status == FieldStatus::Null || value.status == FieldStatus::WrongType) {
      throw bad_request("value must be a string");
    }
    if (value.ok()) {
      if (auto e = check_value(value.value)) throw *e;
      out.value = std::move(value.value);
    }
    out.description = api::optional_string(obj, "description").value();
    if (auto e = check_description(out.description)) throw *e;
    if (!out.value && !out.description) throw bad_request("Provide a value, a description, or both");
    out.scope = read_scope(req, &obj, defaults).value();
    return out;
  });
}

Result<std::optional<int>> read_version_query(const Request& req) {
  return refusal_as_result([&] {
    auto text = api::query_param(req, "version").value();
    if (!text) return std::optional<int>{};
    auto v = api::parse_count(*text);
    if (!v || *v < 1 || *v > kMaxVersion) throw bad_request(kVersionMessage);
    return std::optional<int>{static_cast<int>(*v)};
  });
}

Result<RollbackRequest> read_rollback_request(const Request& req, const ScopeDefaults& defaults) {
  return refusal_as_result([&] {
    const auto obj = api::json_body(req, kNotAnObject).value();
    RollbackRequest out;
    auto version = http::get_int_field(obj, "version");
    if (version.status == FieldStatus::Missing || version.status == FieldStatus::Null) {
      throw bad_request("version is required");
    }
    if (!version.ok() || version.value < 1 || version.value > kMaxVersion) {
      throw bad_request(kVersionMessage);
    }
    out.version = static_cast<int>(version.value);
    out.scope = read_scope(req, &obj, defaults).value();
    return out;
  });
}

Result<Scope> read_restore_request(const Request& req, const ScopeDefaults& defaults) {
  if (req.body().empty()) return read_scope(req, nullptr, defaults);
  return refusal_as_result([&] {
    const auto obj = api::json_body(req, kNotAnObject).value();
    return read_scope(req, &obj, defaults).value();
  });
}

}  // namespace secretsd::secrets
