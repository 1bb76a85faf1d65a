// Issuing and checking user tokens. Access tokens are HS256 JWTs keyed with
// AUTH_SECRET_KEY; refresh tokens are opaque random strings stored as keyed
// hashes, so neither can ever be accepted as the other.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "crypto/jwt.h"

namespace secretsd {

struct App;

struct TokenPair {
  std::string access_token;
  std::string refresh_token;
  int expires_in = 0;  // access token lifetime, seconds
};

// A signed access token: sub, household, role, typ "access", iss, aud, iat,
// exp, jti.
std::string issue_access_token(const App& app, const std::string& user_id,
                               const std::string& household_id, const std::string& role);

// 256 random bits, base64url.
std::string new_refresh_token();

// What is stored for a refresh token, app key, node key or invite code.
std::string credential_hash(const App& app, std::string_view secret);

TokenPair make_token_pair(const App& app, const std::string& user_id,
                          const std::string& household_id, const std::string& role,
                          std::string refresh_token);

// {"access_token","refresh_token","token_type":"bearer","expires_in"}
nlohmann::json token_json(const TokenPair& pair);

// Verifies an access token against the configured key, issuer and audience.
JwtVerifyResult verify_access_token(const App& app, std::string_view token);

}  // namespace secretsd
