// Runs one statement as its own autocommit transaction on a leased
// connection: sign-in, credential and rate-limit statements need no
// multi-statement transactions, so each costs exactly one round trip (no
// BEGIN/COMMIT). Unnamed statements (exec_params) only: behind PgBouncer in
// transaction mode a named prepared statement lives on whichever server
// connection happened to prepare it, so the next transaction, on another
// server connection, finds it missing (or "already exists" when libpqxx
// prepares it again there).
#pragma once

#include <utility>

#include <pqxx/result>

#include "db/tx.h"

namespace secretsd::db {

template <typename... Args>
pqxx::result exec_params(Lease& lease, const char* sql, Args&&... args) {
  return with_statement(
      lease, [&](pqxx::nontransaction& tx) { return tx.exec_params(sql, std::forward<Args>(args)...); });
}

}  // namespace secretsd::db
