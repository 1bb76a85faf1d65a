// The one gateway to PostgreSQL: the primary, an optional standby for
// reads, and read-your-writes between them. A request's statements run
// through read() or write() with the caller's context (db/session.h);
// the broken-connection guard (db/tx.h) is applied in here.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "db/availability.h"
#include "db/context.h"
#include "db/pool.h"
#include "db/recent_writers.h"
#include "db/session.h"
#include "db/tx.h"

namespace secretsd::db {

struct DatabaseOptions {
  std::string primary_url;
  std::string replica_url;  // empty: no standby, every read on the primary
  std::size_t pool_size = 8;
  std::chrono::milliseconds read_your_writes{2000};
};

// What a read or write counts: where a read went.
using ReadObserver = std::function<void(const char* where)>;  // "primary" | "replica"

class Databases {
 public:
  // Opens no connection yet. `log_line` receives the primary's lost/back
  // JSON lines (thread-safe).
  Databases(const DatabaseOptions& options, std::function<void(const std::string&)> log_line = {},
            ReadObserver on_read = {});
  Databases(const Databases&) = delete;
  Databases& operator=(const Databases&) = delete;

  // One statement as its own autocommit transaction on the primary (no
  // BEGIN/COMMIT: one round trip), acting for `context`. Afterwards the
  // actor's reads go to the primary for a while (read-your-writes).
  template <typename Fn>
  auto write(const Context& context, Fn&& fn) {
    auto result = statement_on(*primary_, context, fn, true);
    if (replica_) recent_writers_->wrote(context.actor);
    return result;
  }

  // One statement on the primary acting for `context`, that writes nothing
  // the actor must read back (a stream's replay).
  template <typename Fn>
  auto read_primary(const Context& context, Fn&& fn) {
    return statement_on(*primary_, context, fn, false);
  }

  // A transaction on the primary whose first statement sets `context`;
  // commits when fn returns, rolls back when it throws.
  template <typename Fn>
  auto write_tx(const Context& context, Fn&& fn) {
    Lease lease = primary_->acquire();
    return with_household_tx(lease, context, [&](pqxx::work& tx) {
      Session session(tx, context, true);
      return fn(session);
    });
  }

  // One statement acting for `context`: on the standby unless the actor
  // wrote recently, else on the primary. A standby that cannot answer --
  // unreachable, busy, or the read would write (a household with
  // audit_reads records each read: 25006 read_only_sql_transaction) --
  // hands the read to the primary; writes never happen anywhere else.
  template <typename Fn>
  auto read(const Context& context, Fn&& fn) {
    if (replica_ && !recent_writers_->recently_wrote(context.actor)) {
      try {
        auto result = statement_on(*replica_, context, fn, false);
        observe("replica");
        return result;
      } catch (const pqxx::sql_error& e) {
        if (e.sqlstate() != "25006") throw;
      } catch (const pqxx::broken_connection&) {
      } catch (const PoolTimeout&) {
      }
    }
    observe("primary");
    return statement_on(*primary_, context, fn, false);
  }

  // A connection of the primary for work that acts for no caller (sign-in,
  // credentials, settings), waiting at most kPoolWait (then 503).
  Lease primary() { return primary_->acquire(); }

  ConnectionPool& primary_pool() { return *primary_; }
  ConnectionPool* replica_pool() { return replica_.get(); }
  Availability& availability() { return *availability_; }

 private:
  // One statement, as its own autocommit transaction, on a connection of
  // `pool`, acting for `context`; `writes`: it may write (db/session.h).
  template <typename Fn>
  static auto statement_on(ConnectionPool& pool, const Context& context, Fn& fn, bool writes) {
    Lease lease = pool.acquire();
    return with_statement(lease, [&](pqxx::nontransaction& tx) {
      Session session(tx, context, writes);
      return fn(session);
    });
  }

  void observe(const char* where) const {
    if (on_read_) on_read_(where);
  }

  // Before the pool, which reports to it (and so is destroyed first).
  std::unique_ptr<Availability> availability_;
  std::unique_ptr<ConnectionPool> primary_;
  std::unique_ptr<ConnectionPool> replica_;  // null: none
  std::unique_ptr<RecentWriters> recent_writers_;
  ReadObserver on_read_;
};

}  // namespace secretsd::db
