// Issuing and checking user tokens, and the keyed hash every stored
// credential is kept as. Access tokens are HS256 JWTs keyed with
// AUTH_SECRET_KEY; refresh tokens are opaque random strings stored as keyed
// hashes, so neither can ever be accepted as the other.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "crypto/jwt.h"

namespace secretsd::identity {

// What signing and checking an access token needs of the configuration.
struct TokenOptions {
  std::string signing_key;  // AUTH_SECRET_KEY, exactly as given
  std::string issuer;       // SECRETSD_JWT_ISSUER
  std::string audience;     // SECRETSD_JWT_AUDIENCE
  int access_lifetime_seconds = 15 * 60;  // ACCESS_TOKEN_EXPIRE_MINUTES * 60
};
TokenOptions token_options(const Config& config);

// The HMAC key of every stored credential hash (API keys, app keys, refresh
// tokens, invite codes), derived from AUTH_SECRET_KEY so that a leaked
// table of hashes is useless without the key.
std::string derive_credential_pepper(std::string_view auth_secret_key);

// What is stored for a refresh token, app key, node key or invite code.
std::string credential_hash(std::string_view pepper, std::string_view secret);

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int expires_in = 0;  // access token lifetime, seconds
};

// The access token's claim naming its session (secretsd.sessions.id).
inline constexpr const char* kSessionClaim = "sid";

// A signed access token: sub (the user), sid (the session), hid (the
// default household), typ "access", iss, aud, iat, exp, jti. No role: the
// role is a membership's, resolved per request.
std::string issue_access_token(const TokenOptions& options, const std::string& user_id,
                               const std::string& session_id, const std::string& household_id);

// 256 random bits, base64url.
std::string new_refresh_token();

TokenPair make_token_pair(const TokenOptions& options, const std::string& user_id,
                          const std::string& session_id, const std::string& household_id,
                          std::string refresh_token);

// {"access_token","refresh_token","token_type":"bearer","expires_in"}
nlohmann::json token_json(const TokenPair& pair);

// Verifies an access token against the configured key, issuer and audience.
JwtVerifyResult verify_access_token(const TokenOptions& options, std::string_view token);

}  // namespace secretsd::identity
