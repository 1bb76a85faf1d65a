// Who a statement acts for, and the one text of the call that tells the
// extension (secrets.set_context). Every statement that acts for a caller
// takes the context as its parameters $1 (household), $2 (actor) and $3
// (calling node, '' = none), passed by db::Session alone.
#pragma once

#include <string>

namespace secretsd::db {

struct Context {
  std::string household_id;
  std::string actor;    // "user:<id>", "node:<id>", "app:<id>", "admin", ...
  std::string node_id;  // the calling node, empty otherwise
};

// A macro, not a constant, so that statements can splice it into their
// string literals at compile time: "WITH c AS MATERIALIZED (SELECT "
// SECRETSD_SET_CONTEXT " AS ctx, ...". secrets.set_context() lasts for the
// current transaction: in a single statement outside a transaction block,
// the statement itself.
#define SECRETSD_SET_CONTEXT "secrets.set_context($1::uuid, $2::text, NULLIF($3::text, ''))"

}  // namespace secretsd::db
