// Who is calling: resolved from the request's credentials, once per request.
//
//   Authorization: Bearer <JWT>          a user (access token only)
//   X-API-Key: <node_id>:<api_key>       a node
//   X-Jarvis-App-Id + X-Jarvis-App-Key   an app (household calls name the
//                                        household in X-Household-Id)
//   X-Admin-Key: <ADMIN_API_KEY>         the admin
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <httplib.h>

namespace secretsd {

struct App;

// Anonymous: a public route's caller (auth/access.h), never authenticated.
enum class CallerKind { User, Node, App, Admin, Anonymous };

struct Caller {
  CallerKind kind = CallerKind::User;
  std::string user_id;       // User
  std::string role;          // User: owner | admin | member
  std::string node_id;       // Node
  std::string app_id;        // App
  std::string household_id;  // User, Node; App when X-Household-Id was granted
  std::int64_t expires_at = 0;  // User: the access token's exp (seconds since the epoch)
  // "user:<id>", "node:<id>", "app:<id>" or "admin": recorded as created_by /
  // updated_by through secrets.set_context.
  std::string actor() const;
  const char* kind_name() const;  // for the access log

  static Caller anonymous() {
    Caller caller;
    caller.kind = CallerKind::Anonymous;
    return caller;
  }
};

enum class AuthOutcome {
  Ok,
  Missing,    // no credentials at all           -> 401
  Invalid,    // bad, expired or revoked          -> 401
  Forbidden,  // valid, but not for this household -> 403
};

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::Missing;
  std::optional<Caller> caller;
};

// Checks whichever credentials the request carries (node and app keys cost
// one indexed lookup; a JWT or the admin key none). Comparisons are
// constant-time; failures never say which part was wrong.
AuthResult authenticate(const httplib::Request& req, App& app);

// The checks behind authenticate(), for /internal/validate-*: an active node
// or app whose stored keyed hash matches `key`. One indexed lookup each.
std::optional<Caller> check_node_key(App& app, const std::string& node_id, const std::string& key);
std::optional<Caller> check_app_key(App& app, const std::string& app_id, const std::string& key);

}  // namespace secretsd
