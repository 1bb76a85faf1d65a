// Runs one statement as its own autocommit transaction: auth requests need
// no multi-statement transactions, so each costs exactly one round trip (no
// BEGIN/COMMIT). Unnamed statements (exec_params) only: behind PgBouncer in
// transaction mode a named prepared statement lives on whichever server
// connection happened to prepare it, so the next transaction, on another
// server connection, finds it missing (or "already exists" when libpqxx
// prepares it again there).
#pragma once

#include <utility>

#include <pqxx/result>

#include "db/tx.h"

namespace secretsd {

template <typename... Args>
pqxx::result exec_params(db::Lease& lease, const char* sql, Args&&... args) {
  return db::with_statement(
      lease, [&](pqxx::nontransaction& tx) { return tx.exec_params(sql, std::forward<Args>(args)...); });
}

}  // namespace secretsd
