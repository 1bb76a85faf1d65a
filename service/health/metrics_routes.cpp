#include "health/metrics_routes.h"

#include <sstream>

#include "app.h"
#include "auth/router.h"
#include "http/json_io.h"
#include "http/server.h"
#include "metrics/metrics.h"

namespace secretsd {
namespace {

void gauge(std::ostringstream& out, const char* name, const char* type, const char* help,
           std::uint64_t value) {
  out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
      << name << ' ' << value << '\n';
}

// The pool's and the database's state, read at scrape time.
std::string database_metrics(const App& app) {
  std::ostringstream out;
  const auto& pool = *app.pool;
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
        app.availability->available() ? 1 : 0);
  return out.str();
}

}  // namespace

void register_metrics_routes(Router& router) {
  App& app = router.app();
  if (!app.config.metrics_token) return;  // no token, no endpoint (404)
  router.get("/metrics", Access::Metrics, [&app](http::Exchange& ex, const Caller&) {
    ex.res.status = 200;
    ex.res.set_content(metrics::global().render() + database_metrics(app),
                       "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace secretsd
