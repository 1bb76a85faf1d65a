#include "health/module.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <sstream>

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "api/router.h"
#include "db/databases.h"
#include "db/tx.h"
#include "metrics/metrics.h"

namespace secretsd::health {

using Availability = db::Availability;

// Why the database cannot take writes: a fixed text for the client and a
// fixed word for the log (Availability's reasons). Empty = ready.
struct Problem {
  const char* message = nullptr;
  const char* reason = nullptr;
  explicit operator bool() const { return message != nullptr; }
};

namespace {

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

}  // namespace

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

namespace {

void gauge(std::ostringstream& out, const char* name, const char* type, const char* help,
           std::uint64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

// The pool's and the database's state, read at scrape time.
std::string database_metrics(db::Databases& databases) {
  std::ostringstream out;
  const auto& pool = databases.primary_pool();
  const std::size_t open = pool.open_connections();
  const std::size_t idle = pool.idle_connections();
  gauge(out, "secretsd_db_pool_size", "gauge", "Connections the pool may open.", pool.size());
  gauge(out, "secretsd_db_pool_connections_open", "gauge", "Connections open or being opened.",
        open);
  gauge(out, "secretsd_db_pool_connections_in_use", "gauge", "Connections leased to requests.",
        open >= idle ? open - idle : 0);
  gauge(out, "secretsd_db_pool_waiting", "gauge", "Requests waiting for a connection now.",
        pool.waiting());
  gauge(out, "secretsd_db_pool_waits_total", "counter",
        "Requests that had to wait for a connection.", pool.waits_total());
  gauge(out, "secretsd_db_pool_timeouts_total", "counter",
        "Requests that gave up waiting for a connection (503).", pool.timeouts_total());
  gauge(out, "secretsd_database_available", "gauge",
        "1 while the database takes writes, as last observed (see /ready).",
        databases.availability().available() ? 1 : 0);
  return out.str();
}

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

Problem readiness_problem(db::Databases& databases, WriteProbe& probe) {
  try {
    auto lease = databases.primary();
    return check_database(lease, probe);
  } catch (const pqxx::broken_connection&) {
    return kUnreachable;
  } catch (const db::PoolTimeout&) {
    return {"Database unavailable", nullptr};  // busy, not lost
  }
}

}  // namespace

HealthModule::HealthModule(db::Databases& databases, std::chrono::milliseconds write_probe_interval,
                           std::optional<std::string> metrics_token)
    : databases_(databases),
      probe_(std::make_unique<WriteProbe>(write_probe_interval)),
      metrics_token_(std::move(metrics_token)) {}

HealthModule::~HealthModule() = default;

void HealthModule::register_routes(api::Router& router) {
  router.get("/health", api::Access::Public, [](const api::Request&, const api::Caller&) {
    return api::Reply::json(200, {{"status", "ok"}});
  });
  router.get("/ready", api::Access::Public, [this](const api::Request&, const api::Caller&) {
    const Problem problem = readiness_problem(databases_, *probe_);
    if (problem) {
      if (problem.reason != nullptr) databases_.availability().lost(problem.reason);
      return api::Reply::error({503, problem.message});
    }
    databases_.availability().back();
    return api::Reply::json(200, {{"status", "ready"}});
  });
  if (metrics_token_) {  // no token, no endpoint (404)
    router.get("/metrics", api::Access::Metrics, [this](const api::Request&, const api::Caller&) {
      return api::Reply::text(200, metrics::global().render() + database_metrics(databases_),
                              "text/plain; version=0.0.4; charset=utf-8");
    });
  }
}

}  // namespace secretsd::health
