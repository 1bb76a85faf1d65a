#include "identity/tokens.h"

#include <chrono>
#include <cstdint>

#include "crypto/keyed_hash.h"

namespace secretsd::identity {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TokenOptions token_options(const Config& config) {
  TokenOptions options;
  options.signing_key = config.auth_secret_key;
  options.issuer = config.jwt_issuer;
  options.audience = config.jwt_audience;
  options.access_lifetime_seconds = config.access_token_expire_minutes * 60;
  return options;
}

std::string derive_credential_pepper(std::string_view auth_secret_key) {
  return derive_subkey(auth_secret_key, "credential-pepper");
}

std::string credential_hash(std::string_view pepper, std::string_view secret) {
  return keyed_hash(secret, pepper);
}

std::string issue_access_token(const TokenOptions& options, const std::string& user_id,
                               const std::string& session_id, const std::string& household_id) {
  JwtClaims claims;
  claims.sub = user_id;
  claims.household = household_id;
  claims.typ = std::string(kAccessTokenType);
  claims.iss = options.issuer;
  claims.aud = options.audience;
  claims.jti = generate_token(16);
  claims.iat = now_seconds();
  claims.exp = claims.iat + options.access_lifetime_seconds;
  claims.extra[kSessionClaim] = session_id;
  return sign_jwt(claims, options.signing_key);
}

std::string new_refresh_token() { return generate_token(32); }

TokenPair make_token_pair(const TokenOptions& options, const std::string& user_id,
                          const std::string& session_id, const std::string& household_id,
                          std::string refresh_token) {
  return TokenPair{issue_access_token(options, user_id, session_id, household_id),
                   std::move(refresh_token), options.access_lifetime_seconds};
}

nlohmann::json token_json(const TokenPair& pair) {
  return {{"access_token", pair.access_token},
          {"refresh_token", pair.refresh_token},
          {"token_type", "bearer"},
          {"expires_in", pair.expires_in}};
}

JwtVerifyResult verify_access_token(const TokenOptions& options, std::string_view token) {
  JwtExpectations expected;
  expected.iss = options.issuer;
  expected.aud = options.audience;
  expected.typ = std::string(kAccessTokenType);
  expected.now = now_seconds();
  return verify_jwt(token, options.signing_key, expected);
}

}  // namespace secretsd::identity
