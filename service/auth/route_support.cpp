#include "auth/route_support.h"

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

void no_content(http::Exchange& ex) {
  ex.res.status = 204;
  ex.res.body.clear();
}

}  // namespace secretsd
