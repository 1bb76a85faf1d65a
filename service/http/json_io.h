// JSON request parsing and response helpers shared by every route.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace secretsd::http {

// Deeper documents are refused: nlohmann's dump() recurses, so an
// attacker-sized nesting depth must never reach it.
inline constexpr int kMaxJsonDepth = 32;

// Writes `body` as the response with `status` and a JSON content type.
void json_response(httplib::Response& res, int status, const nlohmann::json& body);

// Writes {"statusCode":N,"message":"..."} — the error shape of the secrets
// REST reference. `message` must be a fixed, caller-chosen text: never echo
// user input or exception text into it.
void error_response(httplib::Response& res, int status, std::string_view message);

// A short generic message for a status code ("Not found", ...).
std::string_view default_message(int status);

// Strict UTF-8 check (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Valid UTF-8 without control characters (C0, DEL), NUL included.
bool is_printable_utf8(std::string_view s);

// Parses a request body that must be a JSON object. Returns nullopt for
// invalid UTF-8, invalid JSON, a non-object top level, nesting deeper than
// kMaxJsonDepth, or a string/key holding U+0000 (PostgreSQL text cannot store
// it). Every string in an accepted document is valid UTF-8, so dumping it
// later can never throw.
std::optional<nlohmann::json> parse_json_object(std::string_view body);

enum class FieldStatus { Ok, Missing, Null, WrongType };

template <typename T>
struct FieldResult {
  FieldStatus status = FieldStatus::Missing;
  T value{};
  bool ok() const { return status == FieldStatus::Ok; }
};

// Typed getters distinguishing "absent" from "present but wrong type" (and
// from an explicit null), so handlers can return precise 400 messages.
// `obj` must be an object (as returned by parse_json_object).
FieldResult<std::string> get_string_field(const nlohmann::json& obj, const std::string& key);
FieldResult<bool> get_bool_field(const nlohmann::json& obj, const std::string& key);
// Integers only: 1.5 and 1e3 are WrongType; so are values outside int64.
FieldResult<std::int64_t> get_int_field(const nlohmann::json& obj, const std::string& key);

}  // namespace secretsd::http
