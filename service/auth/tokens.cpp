#include "auth/tokens.h"

#include <chrono>

#include "app.h"
#include "crypto/keyed_hash.h"

namespace secretsd {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int access_lifetime_seconds(const App& app) {
  return app.config.access_token_expire_minutes * 60;
}

}  // namespace

std::string issue_access_token(const App& app, const std::string& user_id,
                               const std::string& household_id, const std::string& role) {
  JwtClaims claims;
  claims.sub = user_id;
  claims.household = household_id;
  claims.typ = std::string(kAccessTokenType);
  claims.iss = app.config.jwt_issuer;
  claims.aud = app.config.jwt_audience;
  claims.jti = generate_token(16);
  claims.iat = now_seconds();
  claims.exp = claims.iat + access_lifetime_seconds(app);
  claims.extra["role"] = role;
  return sign_jwt(claims, app.config.auth_secret_key);
}

std::string new_refresh_token() { return generate_token(32); }

std::string credential_hash(const App& app, std::string_view secret) {
  return keyed_hash(secret, app.credential_pepper);
}

TokenPair make_token_pair(const App& app, const std::string& user_id,
                          const std::string& household_id, const std::string& role,
                          std::string refresh_token) {
  return TokenPair{issue_access_token(app, user_id, household_id, role), std::move(refresh_token),
                   access_lifetime_seconds(app)};
}

nlohmann::json token_json(const TokenPair& pair) {
  return {{"access_token", pair.access_token},
          {"refresh_token", pair.refresh_token},
          {"token_type", "bearer"},
          {"expires_in", pair.expires_in}};
}

JwtVerifyResult verify_access_token(const App& app, std::string_view token) {
  JwtExpectations expected;
  expected.iss = app.config.jwt_issuer;
  expected.aud = app.config.jwt_audience;
  expected.typ = std::string(kAccessTokenType);
  expected.now = now_seconds();
  return verify_jwt(token, app.config.auth_secret_key, expected);
}

}  // namespace secretsd
