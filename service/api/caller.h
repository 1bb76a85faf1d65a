// Who is calling, once the request's credentials were checked (by the
// Authenticator that main() gives the router).
//
//   Authorization: Bearer <JWT>          a user (access token only)
//   X-API-Key: <node_id>:<api_key>       a node
//   X-Jarvis-App-Id + X-Jarvis-App-Key   an app (household calls name the
//                                        household in X-Household-Id)
//   X-Admin-Key: <ADMIN_API_KEY>         the admin
#pragma once

#include <cstdint>
#include <string>

#include "db/context.h"

namespace secretsd::api {

// Anonymous: a public route's caller, never authenticated.
enum class CallerKind { User, Node, App, Admin, Anonymous };

struct Caller {
  CallerKind kind = CallerKind::User;
  std::string user_id;       // User
  std::string session_id;    // User: the login (secretsd.sessions, the token's sid)
  std::string node_id;       // Node
  std::string app_id;        // App
  // User: X-Household-Id, else the token's hid, when a membership (else
  // empty); Node; App when X-Household-Id was granted.
  std::string household_id;
  // User: the membership's role (owner|admin|writer|reader|auditor) when the
  // request was authenticated, for answers that depend on it; a household
  // statement re-reads it (db/context.h). App: reader|writer, its grant's
  // privilege. Node: writer.
  std::string household_role;
  std::string key_prefix;       // App: the keys it is scoped to (empty: all)
  bool instance_admin = false;  // User: administers the instance
  bool second_factor = false;   // User: the session signed in with a second factor
  // User: the household asked for requires two-factor sign-in and this
  // session has none, so household_id is left empty (access.cpp words it).
  bool needs_second_factor = false;
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

// The context a household caller's statements act for: the household, the
// actor, the role (a user's is re-read by the statement), an app's key
// prefix, and for a node its own id, so that row-level security limits it to
// integration secrets and its own node's. The route admitted the caller
// already (Access::Household).
db::Context household_context(const Caller& caller);

}  // namespace secretsd::api
