// People's accounts: registration, sign-in and its tokens (POST
// /api/v0/auth/{register,login,refresh,logout,password}), a person's
// sessions (GET/DELETE /api/v0/auth/sessions), two-factor sign-in
// (/api/v0/auth/2fa...), their households and a
// household's members (/api/v0/households..., /api/v0/users/{id}) and
// invitations (POST /api/v0/households/invites).
// Owns what only these routes use: the password hasher (argon2id, a bounded
// number at a time) and the login and registration limits (counted in
// PostgreSQL, shared by every instance).
#pragma once

#include <string>

#include "api/caller.h"
#include "api/reply.h"
#include "api/request.h"
#include "accounts/rate_limiter.h"
#include "accounts/two_factor.h"
#include "config/config.h"
#include "crypto/password.h"
#include "identity/tokens.h"

namespace secretsd::api {
class Router;
}
namespace secretsd::db {
class Databases;
}
namespace secretsd::identity {
class CredentialAuthenticator;
}

namespace secretsd::accounts {

// What the module needs of the configuration.
struct AccountsOptions {
  identity::TokenOptions tokens;
  PasswordCost argon2 = PasswordCost::production_default();  // SECRETSD_ARGON2_*
  int argon2_concurrency = 0;        // SECRETSD_ARGON2_CONCURRENCY; 0 = number of cores
  int login_rate_per_account = 10;   // SECRETSD_LOGIN_RATE_LIMIT, per minute
  int login_rate_per_address = 30;
  int register_rate_per_address = 20;  // SECRETSD_REGISTER_RATE_LIMIT, per hour
  int refresh_token_expire_days = 30;
  int refresh_grace_seconds = 10;    // SECRETSD_REFRESH_GRACE_SECONDS
  RegistrationMode registration = RegistrationMode::Invite;  // SECRETSD_REGISTRATION
  // AUTH_SECRET_KEY: keys the sealed TOTP secrets and recovery-code hashes.
  std::string auth_secret_key;
};
AccountsOptions accounts_options(const Config& config);

class AccountsModule {
 public:
  // `credential_pepper`: identity::derive_credential_pepper(AUTH_SECRET_KEY),
  // the key of stored refresh-token and invite-code hashes and of the rate
  // limits' keys. `authenticator`: sessions ended here are dropped from its
  // cache at once. Throws std::invalid_argument for a rate of 0.
  AccountsModule(db::Databases& databases, identity::CredentialAuthenticator& authenticator,
                 const AccountsOptions& options, std::string credential_pepper);
  AccountsModule(const AccountsModule&) = delete;
  AccountsModule& operator=(const AccountsModule&) = delete;

  void register_routes(api::Router& router);

 private:
  // session_routes.cpp: public, the credential is in the body (a password
  // or a refresh token).
  api::Reply handle_register(const api::Request& req);
  api::Reply handle_login(const api::Request& req);
  api::Reply handle_refresh(const api::Request& req);
  // Also with a user's access token (Authorization): ends that session.
  api::Reply handle_logout(const api::Request& req);
  // session_routes.cpp: a user's access token.
  api::Reply handle_list_sessions(const api::Caller& caller);
  api::Reply handle_end_session(const api::Request& req, const api::Caller& caller);
  api::Reply handle_change_password(const api::Request& req, const api::Caller& caller);
  // user_routes.cpp: a user's access token.
  api::Reply handle_get_user(const api::Request& req, const api::Caller& caller);
  api::Reply handle_create_invite(const api::Request& req, const api::Caller& caller);
  api::Reply handle_list_households(const api::Caller& caller);
  api::Reply handle_list_members(const api::Request& req, const api::Caller& caller);
  api::Reply handle_change_member(const api::Request& req, const api::Caller& caller);
  api::Reply handle_remove_member(const api::Request& req, const api::Caller& caller);

  // two_factor_routes.cpp: a user's access token.
  api::Reply handle_two_factor_enrol(const api::Caller& caller);
  api::Reply handle_two_factor_confirm(const api::Request& req, const api::Caller& caller);
  api::Reply handle_two_factor_disable(const api::Request& req, const api::Caller& caller);
  api::Reply handle_two_factor_status(const api::Caller& caller);
  api::Reply handle_household_two_factor(const api::Request& req, const api::Caller& caller);

  void check_register_rate(const api::Request& req);
  void check_login_rate(const api::Request& req, db::Lease& lease, const std::string& email);
  std::string credential_hash(const std::string& secret) const;

  db::Databases& databases_;
  identity::CredentialAuthenticator& authenticator_;
  const AccountsOptions options_;
  const std::string credential_pepper_;
  PasswordHasher hasher_;
  TwoFactor two_factor_;
  RateLimiter login_per_account_;
  RateLimiter login_per_address_;
  RateLimiter register_per_address_;
};

}  // namespace secretsd::accounts
