#include "health/routes.h"

#include <pqxx/nontransaction>

#include "app.h"
#include "http/json_io.h"
#include "http/server.h"

namespace secretsd {
namespace {

// nullptr when ready, else the reason (a fixed text).
const char* check_database(db::Lease& lease) {
  try {
    pqxx::nontransaction tx(lease.conn());
    // key_status() only exists once the extension does, hence two queries.
    auto installed =
        tx.exec1("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pgsecrets')");
    if (!installed[0].as<bool>()) return "Extension pgsecrets is not installed";
    auto key = tx.exec1("SELECT EXISTS (SELECT FROM secrets.key_status() WHERE loaded AND active)");
    if (!key[0].as<bool>()) return "No pgsecrets root key is loaded";
    return nullptr;
  } catch (const pqxx::broken_connection&) {
    lease.mark_broken();
    return "Database unavailable";
  } catch (const pqxx::sql_error&) {
    return "Database check failed";
  }
}

// nullptr when ready, else the reason (a fixed text).
const char* readiness_problem(App& app) {
  try {
    auto lease = app.connection();
    return check_database(lease);
  } catch (const pqxx::broken_connection&) {
    return "Database unavailable";
  } catch (const db::PoolTimeout&) {
    return "Database unavailable";
  }
}

}  // namespace

void register_health_routes(http::Server& server, App& app) {
  server.get("/health", [](http::Exchange& ex) {
    http::json_response(ex.res, 200, {{"status", "ok"}});
  });
  server.get("/ready", [&app](http::Exchange& ex) {
    if (const char* problem = readiness_problem(app)) {
      http::error_response(ex.res, 503, problem);
      return;
    }
    http::json_response(ex.res, 200, {{"status", "ready"}});
  });
}

}  // namespace secretsd
