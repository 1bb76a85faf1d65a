// Who a statement acts for, and the one text of the call that tells the
// extension (secrets.set_context, pgsecrets 0.3.0). Every statement that
// acts for a caller takes the context as its parameters $1 (household), $2
// (actor), $3 (calling node, '' = none), $4 (role) and $5 (key prefix,
// '' = none), passed by db::Session alone.
#pragma once

#include <string>

namespace secretsd::db {

struct Context {
  std::string household_id;
  std::string actor;    // "user:<id>", "node:<id>", "app:<id>", "admin", ...
  std::string node_id;  // the calling node, empty otherwise
  // A household role (owner|admin|writer|reader|auditor) passed as is, or
  // empty for a user: then the user's membership row decides, read inside
  // the statement (migrations/0012: secretsd.context_role), so a role
  // change that committed is never overtaken by the role the request was
  // authenticated with.
  std::string role;
  std::string key_prefix;  // apps scoped to a prefix; empty otherwise
};

// What db::Session passes as $4 for `context`: its role, or the marker that
// makes secretsd.context_role read the membership (locked FOR SHARE when the
// statement writes, so a concurrent role change is serialised with it).
inline std::string role_parameter(const Context& context, bool writes) {
  if (!context.role.empty()) return context.role;
  return writes ? "membership for write" : "membership";
}

// A macro, not a constant, so that statements can splice it into their
// string literals at compile time: "WITH c AS MATERIALIZED (SELECT "
// SECRETSD_SET_CONTEXT " AS ctx, ...". secrets.set_context() lasts for the
// current transaction: in a single statement outside a transaction block,
// the statement itself.
#define SECRETSD_SET_CONTEXT                                                           \
  "secrets.set_context($1::uuid, $2::text, NULLIF($3::text, ''),"                      \
  " secretsd.context_role($1::uuid, $2::text, $4::text), NULLIF($5::text, ''))"

}  // namespace secretsd::db
