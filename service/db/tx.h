// Running a request's SQL on a leased connection (one statement or one
// transaction), with the household row-level-security context of pgsecrets,
// and the one place a broken connection is handled.
#pragma once

#include <string>
#include <type_traits>
#include <utility>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "db/context.h"
#include "db/pool.h"

namespace secretsd::db {

// secrets.set_context as a statement of its own, for a transaction
// (db/context.h has the one text of the call).
inline constexpr const char* kSetContextSql = "SELECT " SECRETSD_SET_CONTEXT;

// The one place a broken connection is noticed: runs fn(), and when the
// connection broke (or died during COMMIT, outcome unknown) marks the lease
// so that the pool replaces it, then rethrows for the transport (503).
template <typename Fn>
auto guarding_connection(Lease& lease, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const pqxx::broken_connection&) {
    lease.mark_broken();
    throw;
  } catch (const pqxx::in_doubt_error&) {
    lease.mark_broken();
    throw;
  }
}

// Runs fn(tx) outside a transaction block: each statement is its own
// autocommit transaction, one round trip, no BEGIN/COMMIT.
template <typename Fn>
auto with_statement(Lease& lease, Fn&& fn) -> decltype(fn(std::declval<pqxx::nontransaction&>())) {
  return guarding_connection(lease, [&] {
    pqxx::nontransaction tx(lease.conn());
    return fn(tx);
  });
}

// Runs fn(tx) in one transaction and commits; returns what fn returns. Any
// exception rolls back.
template <typename Fn>
auto with_tx(Lease& lease, Fn&& fn) -> decltype(fn(std::declval<pqxx::work&>())) {
  return guarding_connection(lease, [&] {
    pqxx::work tx(lease.conn());
    if constexpr (std::is_void_v<decltype(fn(tx))>) {
      fn(tx);
      tx.commit();
    } else {
      auto result = fn(tx);
      tx.commit();
      return result;
    }
  });
}

// with_tx plus secrets.set_context(context) as the transaction's first
// statement (one extra round trip). The transaction may write: a user's
// role is read locked until it ends (db/context.h).
template <typename Fn>
auto with_household_tx(Lease& lease, const Context& context, Fn&& fn)
    -> decltype(fn(std::declval<pqxx::work&>())) {
  return with_tx(lease, [&](pqxx::work& tx) {
    tx.exec_params(kSetContextSql, context.household_id, context.actor, context.node_id,
                   role_parameter(context, true), context.key_prefix);
    return fn(tx);
  });
}

}  // namespace secretsd::db
