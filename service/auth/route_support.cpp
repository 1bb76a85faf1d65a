#include "auth/route_support.h"

#include "app.h"
#include "http/json_io.h"

namespace secretsd {

std::optional<nlohmann::json> parse_body(http::Exchange& ex) {
  auto body = http::parse_json_object(ex.body);
  if (!body) http::error_response(ex.res, 400, "Invalid JSON body");
  return body;
}

std::optional<nlohmann::json> parse_optional_body(http::Exchange& ex) {
  if (ex.body.find_first_not_of(" \t\r\n") == std::string::npos) return nlohmann::json::object();
  return parse_body(ex);
}

bool require_string(http::Exchange& ex, const nlohmann::json& body, const std::string& field,
                    std::string& out) {
  auto result = http::get_string_field(body, field);
  switch (result.status) {
    case http::FieldStatus::Ok:
      out = std::move(result.value);
      return true;
    case http::FieldStatus::Missing:
    case http::FieldStatus::Null:
      http::error_response(ex.res, 400, field + " is required");
      return false;
    case http::FieldStatus::WrongType:
      break;
  }
  http::error_response(ex.res, 400, field + " must be a string");
  return false;
}

bool optional_string(http::Exchange& ex, const nlohmann::json& body, const std::string& field,
                     std::string& out) {
  auto result = http::get_string_field(body, field);
  if (result.status == http::FieldStatus::Ok) out = std::move(result.value);
  if (result.status != http::FieldStatus::WrongType) return true;
  http::error_response(ex.res, 400, field + " must be a string");
  return false;
}

std::optional<Caller> require_caller(http::Exchange& ex, App& app) {
  AuthResult result = authenticate(ex.req, app);
  switch (result.outcome) {
    case AuthOutcome::Ok:
      ex.actor_kind = result.caller->kind_name();
      return result.caller;
    case AuthOutcome::Missing:
      http::error_response(ex.res, 401, "Not authenticated");
      return std::nullopt;
    case AuthOutcome::Invalid:
      http::error_response(ex.res, 401, "Invalid credentials");
      return std::nullopt;
    case AuthOutcome::Forbidden:
      http::error_response(ex.res, 403, "Forbidden");
      return std::nullopt;
  }
  return std::nullopt;
}

std::optional<Caller> require_user(http::Exchange& ex, App& app) {
  auto caller = require_caller(ex, app);
  if (caller && caller->kind != CallerKind::User) {
    http::error_response(ex.res, 403, "Forbidden");
    return std::nullopt;
  }
  return caller;
}

void no_content(http::Exchange& ex) {
  ex.res.status = 204;
  ex.res.body.clear();
}

}  // namespace secretsd
