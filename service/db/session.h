// A statement or transaction that acts for one caller: every statement sent
// through it gets the caller's context as $1..$3 (db/context.h), so the
// context is passed in this one place and a statement cannot forget it.
#pragma once

#include <string>
#include <utility>

#include <pqxx/result>
#include <pqxx/transaction_base>

#include "db/context.h"

namespace secretsd::db {

class Session {
 public:
  Session(pqxx::transaction_base& tx, const Context& context) : tx_(tx), context_(context) {}

  // `sql` starts with SECRETSD_SET_CONTEXT (in a MATERIALIZED CTE that the
  // rest of the statement depends on), or runs in a transaction that
  // Databases::write_tx opened with the context; `args` are $4 onwards.
  template <typename... Args>
  pqxx::result exec(const std::string& sql, Args&&... args) {
    return tx_.exec_params(sql, context_.household_id, context_.actor, context_.node_id,
                           std::forward<Args>(args)...);
  }
  // A statement without the context parameters (in a transaction whose
  // context is already set).
  template <typename... Args>
  pqxx::result exec_plain(const std::string& sql, Args&&... args) {
    return tx_.exec_params(sql, std::forward<Args>(args)...);
  }

  const Context& context() const { return context_; }
  pqxx::transaction_base& tx() { return tx_; }

 private:
  pqxx::transaction_base& tx_;
  const Context& context_;
};

}  // namespace secretsd::db
