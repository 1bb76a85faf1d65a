// A statement or transaction that acts for one caller: every statement sent
// through it gets the caller's context as $1..$5 (db/context.h), so the
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
  // `writes`: the statements may write (Databases::write, write_tx), so a
  // user's role is read locked (db/context.h role_parameter).
  Session(pqxx::transaction_base& tx, const Context& context, bool writes)
      : tx_(tx), context_(context), role_(role_parameter(context, writes)) {}

  // `sql` starts with SECRETSD_SET_CONTEXT (in a MATERIALIZED CTE that the
  // rest of the statement depends on), or runs in a transaction that
  // Databases::write_tx opened with the context; `args` are $6 onwards.
  template <typename... Args>
  pqxx::result exec(const std::string& sql, Args&&... args) {
    return tx_.exec_params(sql, context_.household_id, context_.actor, context_.node_id, role_,
                           context_.key_prefix, std::forward<Args>(args)...);
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
  const std::string role_;
};

}  // namespace secretsd::db
