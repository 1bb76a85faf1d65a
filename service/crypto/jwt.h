// HS256-only JSON Web Tokens for user access tokens. Only one algorithm is
// ever accepted, so the "alg" header cannot steer verification (no "none",
// no algorithm confusion).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace secretsd {

inline constexpr std::string_view kAccessTokenType = "access";
inline constexpr std::string_view kRefreshTokenType = "refresh";
inline constexpr std::size_t kMaxJwtBytes = 8 * 1024;

struct JwtClaims {
  std::string sub;        // user id, required, non-empty
  std::string household;  // claim "hid": the default household, required string (may be empty)
  std::string typ;        // "access" or "refresh" (payload claim, not the header)
  std::string iss;        // omitted from the token when empty
  std::string aud;        // omitted when empty; on verify: the expected audience that matched
  std::string jti;        // omitted when empty
  std::int64_t iat = 0;   // seconds since the epoch
  std::int64_t exp = 0;   // seconds since the epoch
  // Any other payload members. Registered names above win over keys here.
  nlohmann::json extra = nlohmann::json::object();
};

struct JwtExpectations {
  std::string iss;  // token's "iss" must equal this
  std::string aud;  // token's "aud" must equal this, or be an array holding it
  std::string typ;  // kAccessTokenType or kRefreshTokenType
  std::int64_t now = 0;             // seconds since the epoch
  std::int64_t leeway_seconds = 30; // clock skew allowance for exp/iat/nbf
};

enum class JwtError {
  none,
  token_too_large,        // > kMaxJwtBytes
  malformed,              // not three non-empty base64url parts
  bad_signature,          // HMAC mismatch (checked before anything is parsed)
  bad_header,             // header not a JSON object, or has "crit"
  unsupported_algorithm,  // alg missing or anything but "HS256"
  bad_payload,            // payload not a JSON object
  missing_claim,          // sub/hid/typ/iss/aud/exp/iat absent or wrong JSON type
  wrong_token_type,       // typ claim differs from the expectation
  wrong_issuer,
  wrong_audience,
  expired,                // now - leeway >= exp
  issued_in_future,       // iat > now + leeway
  not_yet_valid,          // nbf present and > now + leeway
  invalid_key,            // empty key
  internal_error,         // unexpected failure inside verification
};

// Stable, log-safe name (never contains token material).
const char* to_string(JwtError error);

struct JwtVerifyResult {
  JwtError error = JwtError::internal_error;
  std::optional<JwtClaims> claims;  // set only when error == JwtError::none
  bool ok() const { return error == JwtError::none; }
};

// Header is exactly {"alg":"HS256","typ":"JWT"}. Throws std::invalid_argument
// for an empty key, a non-object `extra`, or strings that are not valid UTF-8.
std::string sign_jwt(const JwtClaims& claims, std::string_view key);

// Signature first (constant time), then header, then claims. Never throws.
JwtVerifyResult verify_jwt(std::string_view token, std::string_view key,
                           const JwtExpectations& expected) noexcept;

// Only the structural and HMAC-SHA256 check of `header.payload.signature`;
// does not look at the header or claims. Never throws.
bool verify_hs256_signature(std::string_view token, std::string_view key) noexcept;

}  // namespace secretsd
