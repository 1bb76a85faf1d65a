// Runs one prepared statement as its own autocommit transaction: auth
// requests need no multi-statement transactions, so each costs exactly one
// round trip (no BEGIN/COMMIT).
#pragma once

#include <utility>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>

#include "db/pool.h"

namespace secretsd {

template <typename... Args>
pqxx::result exec_prepared(db::Lease& lease, const char* statement, Args&&... args) {
  try {
    pqxx::nontransaction tx(lease.conn());
    return tx.exec_prepared(statement, std::forward<Args>(args)...);
  } catch (const pqxx::broken_connection&) {
    lease.mark_broken();
    throw;
  }
}

}  // namespace secretsd
