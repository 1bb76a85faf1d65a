// Request readers shared by every feature: the JSON body, typed fields,
// numeric query parameters and If-Match. Each returns a value or the
// ApiError with the documented 400 text; request values are never echoed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/error.h"
#include "api/request.h"

namespace secretsd::api {

// The body as a JSON object, or 400 `invalid_message` (invalid UTF-8 or
// JSON, not an object, too deep, or U+0000 in a string). The auth and
// admin routes answer "Invalid JSON body"; the secrets reference words it
// as "Request body must be a JSON object".
inline constexpr const char* kInvalidJsonBody = "Invalid JSON body";
Result<nlohmann::json> json_body(const Request& req, const char* invalid_message = kInvalidJsonBody);
// Like json_body, but an empty (or all-blank) body is an empty object.
Result<nlohmann::json> optional_json_body(const Request& req,
                                          const char* invalid_message = kInvalidJsonBody);

// A required string field, or 400 "<field> is required" / "<field> must be
// a string".
Result<std::string> required_string(const nlohmann::json& body, const std::string& field);
// An optional string field: nullopt when absent or null; 400 "<field> must
// be a string" when another type.
Result<std::optional<std::string>> optional_string(const nlohmann::json& body,
                                                   const std::string& field);

// One query parameter: nullopt when absent; 400 "<name> must be given at
// most once" when repeated (ambiguous, so refused rather than picked).
Result<std::optional<std::string>> query_param(const Request& req, const std::string& name);

// An RFC 3339 timestamp query parameter (2026-12-07T21:00:00Z, with an
// optional fraction and a Z or +hh:mm offset): nullopt when absent, else the
// text as given, for PostgreSQL to read as timestamptz; 400 "<name> must be
// an RFC 3339 timestamp" otherwise.
Result<std::optional<std::string>> timestamp_param(const Request& req, const std::string& name);

// A non-negative decimal integer without sign or spaces (at most 18 digits).
std::optional<long long> parse_count(const std::string& text);

// The strong ETag of a version: "v<version>" with the quotes.
std::string etag_for(long long version);

// If-Match on a write: nullopt when absent, the expected version for one
// "v<n>" ETag, or kAnyVersion for "*" (the resource must exist). Weak ETags,
// lists and anything else are 400: a write names exactly the version it
// was based on.
inline constexpr int kAnyVersion = -1;
Result<std::optional<int>> if_match(const Request& req);

}  // namespace secretsd::api
