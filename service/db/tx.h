// Running a request's SQL in one transaction on a leased connection, with
// the household row-level-security context of pgsecrets.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include <pqxx/except>
#include <pqxx/transaction>

#include "db/pool.h"

namespace secretsd::db {

// secrets.set_context(household_id uuid, actor text, node_id text) is
// provided by the pgsecrets extension; an empty node id becomes NULL. To
// save the round trip, a handler may instead embed the call in its own
// statement, e.g.
//   SELECT s.* FROM secrets.set_context($1::uuid, $2, NULLIF($3, '')),
//                   LATERAL secrets.get_secret(...) s
// and run it inside with_tx().
// Sent unnamed (exec_params), like every statement of secretsd, so that it
// works behind PgBouncer in transaction mode.
inline constexpr const char* kSetContextSql =
    "SELECT secrets.set_context($1::uuid, $2, NULLIF($3, ''))";

// Runs fn(tx) in one transaction and commits; returns what fn returns.
// pqxx::broken_connection marks the lease broken (the pool replaces the
// connection) and is rethrown; any exception rolls back.
template <typename Fn>
auto with_tx(Lease& lease, Fn&& fn) -> decltype(fn(std::declval<pqxx::work&>())) {
  try {
    pqxx::work tx(lease.conn());
    if constexpr (std::is_void_v<decltype(fn(tx))>) {
      fn(tx);
      tx.commit();
    } else {
      auto result = fn(tx);
      tx.commit();
      return result;
    }
  } catch (const pqxx::broken_connection&) {
    lease.mark_broken();
    throw;
  } catch (const pqxx::in_doubt_error&) {
    // The connection died during COMMIT: outcome unknown, connection unusable.
    lease.mark_broken();
    throw;
  }
}

// with_tx plus secrets.set_context(household_id, actor, node_id) as the
// transaction's first statement (one extra round trip).
template <typename Fn>
auto with_household_tx(Lease& lease, const std::string& household_id, const std::string& actor,
                       const std::string& node_id, Fn&& fn)
    -> decltype(fn(std::declval<pqxx::work&>())) {
  return with_tx(lease, [&](pqxx::work& tx) {
    tx.exec_params(kSetContextSql, household_id, actor, node_id);
    return fn(tx);
  });
}

}  // namespace secretsd::db
