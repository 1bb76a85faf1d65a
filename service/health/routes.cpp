#include "health/routes.h"

#include <chrono>
#include <memory>
#include <mutex>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "app.h"
#include "auth/router.h"
#include "db/tx.h"
#include "http/json_io.h"
#include "http/server.h"

namespace secretsd {
namespace {

using Availability = db::Availability;

// Why the database cannot take writes: a fixed text for the client and a
// fixed word for the log (Availability's reasons). Empty = ready.
struct Problem {
  const char* message = nullptr;
  const char* reason = nullptr;
  explicit operator bool() const { return message != nullptr; }
};

constexpr Problem kUnreachable{"Database unavailable", Availability::kUnreachable};

// One round trip: is the server a primary that accepts writes in this
// session, with the extension and an active root key loaded? In a
// nontransaction each statement is its own transaction, so
// transaction_read_only shows default_transaction_read_only (set by ALTER
// SYSTEM, ALTER DATABASE or ALTER ROLE).
Problem check_state(pqxx::nontransaction& tx) {
  auto row = tx.exec1(
      "SELECT pg_is_in_recovery(), current_setting('transaction_read_only')::boolean,"
      " EXISTS (SELECT FROM pg_extension WHERE extname = 'pgsecrets')");
  if (row[0].as<bool>() || row[1].as<bool>()) {
    return {"Database is read-only", Availability::kReadOnly};
  }
  if (!row[2].as<bool>()) return {"Extension pgsecrets is not installed", Availability::kNoExtension};
  // key_status() only exists once the extension does, hence a second query.
  auto key = tx.exec1("SELECT EXISTS (SELECT FROM secrets.key_status() WHERE loaded AND active)");
  if (!key[0].as<bool>()) return {"No pgsecrets root key is loaded", Availability::kNoRootKey};
  return {};
}

// A real write to a fresh file block (migrations/0007_write_probe.sql): a
// full disk, a read-only server, a broken tablespace all fail it. At most
// once per interval per instance; in between the last outcome stands, so
// /ready stays cheap however often a load balancer asks.
class WriteProbe {
 public:
  explicit WriteProbe(std::chrono::milliseconds interval) : interval_(interval) {}

  Problem check(db::Lease& lease) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    if (probed_ && now - last_ < interval_) return last_result_;
    last_result_ = probe(lease);
    last_ = now;
    probed_ = true;
    return last_result_;
  }

 private:
  static Problem probe(db::Lease& lease) {
    try {
      db::with_tx(lease, [](pqxx::work& tx) {
        // Two instances probing at once queue on the TRUNCATE's lock; never long.
        tx.exec("SET LOCAL lock_timeout = '2s'");
        tx.exec("TRUNCATE secretsd.write_probe");
        tx.exec("INSERT INTO secretsd.write_probe (probed_at) VALUES (now())");
      });
      return {};
    } catch (const pqxx::broken_connection&) {
      return kUnreachable;
    } catch (const pqxx::in_doubt_error&) {
      return kUnreachable;
    } catch (const pqxx::sql_error& e) {
      // Another instance held the probe table just now: its probe wrote.
      if (e.sqlstate() == "55P03") return {};
      // 53100 disk full, 25006 read-only, ...: this write did not happen.
      return {"Database cannot take writes", Availability::kWriteFailed};
    }
  }

  const std::chrono::milliseconds interval_;
  std::mutex mutex_;
  bool probed_ = false;
  std::chrono::steady_clock::time_point last_;
  Problem last_result_;
};

Problem check_database(db::Lease& lease, WriteProbe& probe) {
  try {
    if (Problem p = db::with_statement(lease, check_state)) return p;
  } catch (const pqxx::broken_connection&) {
    return kUnreachable;
  } catch (const pqxx::sql_error&) {
    return {"Database check failed", Availability::kWriteFailed};
  }
  return probe.check(lease);
}

Problem readiness_problem(App& app, WriteProbe& probe) {
  try {
    auto lease = app.connection();
    return check_database(lease, probe);
  } catch (const pqxx::broken_connection&) {
    return kUnreachable;
  } catch (const db::PoolTimeout&) {
    return {"Database unavailable", nullptr};  // busy, not lost
  }
}

}  // namespace

void register_health_routes(Router& router) {
  App& app = router.app();
  router.get("/health", Access::Public, [](http::Exchange& ex, const Caller&) {
    http::json_response(ex.res, 200, {{"status", "ok"}});
  });
  auto probe =
      std::make_shared<WriteProbe>(std::chrono::milliseconds(app.config.ready_write_probe_ms));
  router.get("/ready", Access::Public, [&app, probe](http::Exchange& ex, const Caller&) {
    const Problem problem = readiness_problem(app, *probe);
    if (problem) {
      if (problem.reason != nullptr) app.availability->lost(problem.reason);
      http::error_response(ex.res, 503, problem.message);
      return;
    }
    app.availability->back();
    http::json_response(ex.res, 200, {{"status", "ready"}});
  });
}

}  // namespace secretsd
