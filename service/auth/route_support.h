// Helpers shared by the auth route files: body parsing with the documented
// 400 messages, and the route groups that
// register_auth_routes() puts together. Messages are fixed texts; request
// values are never echoed.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "auth/router.h"
#include "http/server.h"

namespace secretsd {

struct App;

// The body as a JSON object, or answers 400 "Invalid JSON body".
std::optional<nlohmann::json> parse_body(http::Exchange& ex);
// Like parse_body, but an empty body is an empty object.
std::optional<nlohmann::json> parse_optional_body(http::Exchange& ex);

// A required string field into `out`, or answers 400 "<field> is required" /
// "<field> must be a string".
bool require_string(http::Exchange& ex, const nlohmann::json& body, const std::string& field,
                    std::string& out);
// An optional string field (absent or null leaves `out` unchanged), or 400.
bool optional_string(http::Exchange& ex, const nlohmann::json& body, const std::string& field,
                     std::string& out);

void no_content(http::Exchange& ex);

// Route groups (one file each).
void register_session_routes(Router& router);   // register/login/refresh/logout
void register_user_routes(Router& router);      // users, invites
void register_internal_routes(Router& router);  // /internal/validate-*
void register_admin_routes(Router& router);     // /api/v0/admin/*

}  // namespace secretsd
