#include "accounts/module.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>

#include "api/router.h"
#include "identity/authenticator.h"

namespace secretsd::accounts {
namespace {

std::size_t hashing_threads(const AccountsOptions& options) {
  return options.argon2_concurrency > 0 ? static_cast<std::size_t>(options.argon2_concurrency)
                                        : std::max(1u, std::thread::hardware_concurrency());
}

RateLimit per(int events, std::chrono::seconds window) {
  return RateLimit{static_cast<std::uint32_t>(events), window};
}

}  // namespace

AccountsOptions accounts_options(const Config& config) {
  AccountsOptions options;
  options.tokens = identity::token_options(config);
  options.argon2 = config.argon2;
  options.argon2_concurrency = config.argon2_concurrency;
  options.login_rate_per_account = config.login_rate_per_account;
  options.login_rate_per_address = config.login_rate_per_address;
  options.register_rate_per_address = config.register_rate_per_address;
  options.refresh_token_expire_days = config.refresh_token_expire_days;
  options.refresh_grace_seconds = config.refresh_grace_seconds;
  options.registration = config.registration;
  options.auth_secret_key = config.auth_secret_key;
  return options;
}

AccountsModule::AccountsModule(db::Databases& databases,
                               identity::CredentialAuthenticator& authenticator,
                               const AccountsOptions& options, std::string credential_pepper)
    : databases_(databases),
      authenticator_(authenticator),
      options_(options),
      credential_pepper_(std::move(credential_pepper)),
      hasher_(options.argon2, hashing_threads(options)),
      two_factor_(databases, options.auth_secret_key),
      login_per_account_("login_account",
                         per(options.login_rate_per_account, std::chrono::minutes(1)),
                         credential_pepper_),
      login_per_address_("login_address",
                         per(options.login_rate_per_address, std::chrono::minutes(1)),
                         credential_pepper_),
      register_per_address_("register_address",
                            per(options.register_rate_per_address, std::chrono::hours(1)),
                            credential_pepper_) {}

std::string AccountsModule::credential_hash(const std::string& secret) const {
  return identity::credential_hash(credential_pepper_, secret);
}

void AccountsModule::register_routes(api::Router& router) {
  using api::Access;
  // Public: the credential is in the body (a password or a refresh token).
  router.post("/api/v0/auth/register", Access::Public,
              [this](const api::Request& req, const api::Caller&) { return handle_register(req); });
  router.post("/api/v0/auth/login", Access::Public,
              [this](const api::Request& req, const api::Caller&) { return handle_login(req); });
  router.post("/api/v0/auth/refresh", Access::Public,
              [this](const api::Request& req, const api::Caller&) { return handle_refresh(req); });
  router.post("/api/v0/auth/logout", Access::Public,
              [this](const api::Request& req, const api::Caller&) { return handle_logout(req); });
  router.get("/api/v0/auth/sessions", Access::User,
             [this](const api::Request&, const api::Caller& caller) {
               return handle_list_sessions(caller);
             });
  router.del(R"(/api/v0/auth/sessions/([^/]+))", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_end_session(req, caller);
             });
  router.post("/api/v0/auth/password", Access::User,
              [this](const api::Request& req, const api::Caller& caller) {
                return handle_change_password(req, caller);
              });
  router.post("/api/v0/auth/2fa/enrol", Access::User,
              [this](const api::Request&, const api::Caller& caller) {
                return handle_two_factor_enrol(caller);
              });
  router.post("/api/v0/auth/2fa/confirm", Access::User,
              [this](const api::Request& req, const api::Caller& caller) {
                return handle_two_factor_confirm(req, caller);
              });
  router.del("/api/v0/auth/2fa", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_two_factor_disable(req, caller);
             });
  router.get("/api/v0/auth/2fa", Access::User,
             [this](const api::Request&, const api::Caller& caller) {
               return handle_two_factor_status(caller);
             });
  router.put(R"(/api/v0/households/([^/]+)/two-factor)", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_household_two_factor(req, caller);
             });
  router.get("/api/v0/households", Access::User,
             [this](const api::Request&, const api::Caller& caller) {
               return handle_list_households(caller);
             });
  router.get(R"(/api/v0/households/([^/]+)/members)", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_list_members(req, caller);
             });
  router.patch(R"(/api/v0/households/([^/]+)/members/([^/]+))", Access::User,
               [this](const api::Request& req, const api::Caller& caller) {
                 return handle_change_member(req, caller);
               });
  router.del(R"(/api/v0/households/([^/]+)/members/([^/]+))", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_remove_member(req, caller);
             });
  router.get(R"(/api/v0/users/([^/]+))", Access::User,
             [this](const api::Request& req, const api::Caller& caller) {
               return handle_get_user(req, caller);
             });
  router.post("/api/v0/households/invites", Access::User,
              [this](const api::Request& req, const api::Caller& caller) {
                return handle_create_invite(req, caller);
              });
}

}  // namespace secretsd::accounts
