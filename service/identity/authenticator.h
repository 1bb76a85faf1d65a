// Who is calling: a request's credentials resolved to an api::Caller, once
// per request (api/caller.h lists the headers). The router asks through
// api::Authenticator and counts the failures (api/access.cpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/access.h"
#include "api/caller.h"
#include "api/request.h"
#include "identity/session_cache.h"
#include "identity/tokens.h"

namespace secretsd::db {
class Databases;
}

namespace secretsd::identity {

class CredentialAuthenticator : public api::Authenticator {
 public:
  // `admin_api_key`: ADMIN_API_KEY, the break-glass key (unset: nobody can
  // use it). Every accepted use is written to the admin audit and logged.
  // `credential_pepper`: derive_credential_pepper(AUTH_SECRET_KEY)
  // (identity/tokens.h), the key of the stored node and app key hashes.
  CredentialAuthenticator(db::Databases& databases, TokenOptions tokens,
                          std::optional<std::string> admin_api_key, std::string credential_pepper);

  // Checks whichever credentials the request carries (node and app keys
  // cost one indexed lookup on the primary; a JWT one call of
  // secretsd.check_session at most once a second per session; the admin key
  // none).
  // Comparisons are constant-time; failures never say which part was wrong.
  api::AuthResult authenticate(const api::Request& req) override;

  // The checks behind authenticate(), for /internal/validate-*: an active
  // node or app whose stored keyed hash matches `key`. One indexed lookup
  // each.
  std::optional<api::Caller> check_node_key(const std::string& node_id, const std::string& key);
  std::optional<api::Caller> check_app_key(const std::string& app_id, const std::string& key);

  // Sessions ended on this instance fail here at once (on other instances
  // within the cache's second).
  void forget_session(const std::string& session_id) { sessions_.forget(session_id); }
  void forget_user_sessions(const std::string& user_id) { sessions_.forget_user(user_id); }

 private:
  api::AuthResult authenticate_user(const api::Request& req);
  // The session's state for `household_id` (empty: none asked), from the
  // cache or PostgreSQL; nothing when the session is not live.
  std::optional<SessionState> session_state(const std::string& session_id,
                                            const std::string& user_id,
                                            const std::string& household_id);
  api::AuthResult authenticate_node(std::string_view header);
  api::AuthResult authenticate_app(const api::Request& req);
  api::AuthResult authenticate_admin(const api::Request& req) const;

  db::Databases& databases_;
  const TokenOptions tokens_;
  const std::optional<std::string> admin_api_key_;
  const std::string credential_pepper_;
  SessionCache sessions_;
};

}  // namespace secretsd::identity
