// /api/secrets handlers (Access::Household): validate the request, then one
// statement on a leased connection (secrets/statements.h).
//
//   GET    /api/secrets?scope=&node_id=&limit=&offset=   metadata, paginated
//   GET    /api/secrets/{key}?scope=&node_id=&version=   metadata + value, ETag
//   POST   /api/secrets                                  create
//   PUT    /api/secrets/{key}?scope=&node_id=            change value/description (If-Match)
//   DELETE /api/secrets/{key}?scope=&node_id=            soft delete (If-Match)
//   GET    /api/secrets/{key}/versions                   kept versions, metadata only
//   POST   /api/secrets/{key}/rollback  {"version": n}   old value as a new version (If-Match)
//   POST   /api/secrets/{key}/restore                    undo a delete within the retention
//
// ETag is "v<version>" of the representation; If-Match "v<n>" makes a write
// conditional on n being the current version (412 otherwise), "*" on the
// secret existing.
#include "secrets/routes.h"

#include <chrono>
#include <utility>

#include <pqxx/except>

#include "app.h"
#include "auth/router.h"
#include "db/pool.h"
#include "db/tx.h"
#include "http/json_io.h"
#include "metrics/metrics.h"
#include "secrets/db_errors.h"
#include "secrets/household.h"
#include "secrets/representation.h"
#include "secrets/statements.h"
#include "secrets/validation.h"

namespace secretsd {
namespace {

using secrets::ApiError;
using secrets::HouseholdContext;
using secrets::SecretsStatements;

void send_error(http::Exchange& ex, const ApiError& e) {
  http::error_response(ex.res, e.status, e.message);
}

void send_data(http::Exchange& ex, nlohmann::json data) {
  http::json_response(ex.res, 200, {{"data", std::move(data)}});
}

// A single secret's representation, with the ETag of its version.
void send_secret(http::Exchange& ex, const pqxx::row& row, nlohmann::json data) {
  ex.res.set_header("ETag", secrets::etag_for(row["version"].as<long long>(0)));
  send_data(ex, std::move(data));
}

// The If-Match expectation to pass to SQL (nullopt: none, or "*" which the
// write's own not-found check covers); the error already sent otherwise.
std::optional<std::optional<int>> expected_version(http::Exchange& ex) {
  auto if_match = secrets::read_if_match(ex.req);
  if (auto* e = std::get_if<ApiError>(&if_match)) {
    send_error(ex, *e);
    return std::nullopt;
  }
  auto expected = std::get<std::optional<int>>(if_match);
  if (expected == secrets::kAnyVersion) expected.reset();
  return expected;
}

// A standby refused the statement because it would write (25006): the
// primary takes the read.
struct StandbyCannotServe {};

// Runs fn(statements) on a connection of `pool` outside a transaction
// block (each statement is its own transaction: see statements.h). SQL
// errors become ApiErrors; a broken connection is rethrown (db/tx.h).
template <typename Fn>
std::variant<pqxx::result, ApiError> run_on(db::ConnectionPool& pool, const std::string& key,
                                            Fn&& fn, bool standby = false) {
  db::Lease lease = pool.acquire();
  try {
    return db::with_statement(lease, [&](pqxx::nontransaction& tx) {
      SecretsStatements statements(tx);
      return fn(statements);
    });
  } catch (const pqxx::sql_error& e) {
    if (standby && e.sqlstate() == "25006") throw StandbyCannotServe{};
    return secrets::map_sql_error(e, key);
  }
}

template <typename Fn>
std::variant<pqxx::result, ApiError> run(App& app, const std::string& key, Fn&& fn) {
  return run_on(*app.pool, key, std::forward<Fn>(fn));
}

// run(), then the caller's reads go to the primary for a while
// (read-your-writes; db/recent_writers.h).
template <typename Fn>
std::variant<pqxx::result, ApiError> run_write(App& app, const HouseholdContext& ctx,
                                               const std::string& key, Fn&& fn) {
  auto result = run(app, key, std::forward<Fn>(fn));
  if (app.read_pool && std::holds_alternative<pqxx::result>(result)) {
    app.recent_writers->wrote(ctx.actor);
  }
  return result;
}

// A read of secrets: on a standby (SECRETSD_READ_DATABASE_URL) unless the
// caller wrote recently, else on the primary. A standby that cannot answer
// -- unreachable, busy, or the read would write (a household with
// audit_reads records each read: 25006 read_only_sql_transaction) -- hands
// the read to the primary; writes never happen anywhere else.
template <typename Fn>
std::variant<pqxx::result, ApiError> run_read(App& app, const HouseholdContext& ctx,
                                              const std::string& key, Fn&& fn) {
  if (app.read_pool && !app.recent_writers->recently_wrote(ctx.actor)) {
    try {
      auto result = run_on(*app.read_pool, key, fn, /*standby=*/true);
      metrics::global().read("replica");
      return result;
    } catch (const StandbyCannotServe&) {
    } catch (const pqxx::broken_connection&) {
    } catch (const db::PoolTimeout&) {
    }
  }
  metrics::global().read("primary");
  return run(app, key, std::forward<Fn>(fn));
}

// The {key} path segment, validated; the error already sent otherwise.
std::optional<std::string> path_key(http::Exchange& ex) {
  std::string key = ex.req.matches.size() > 1 ? ex.req.matches[1].str() : std::string();
  if (auto e = secrets::check_key_text(key)) {
    send_error(ex, *e);
    return std::nullopt;
  }
  return key;
}

secrets::ScopeDefaults defaults_for(const HouseholdContext& ctx) {
  return secrets::ScopeDefaults{ctx.node_id};
}

// A node writes only its own node's secrets (row-level security would
// refuse the rest too, but as "not found" for updates: a clear 403 here is
// independent of whether the secret exists, so it leaks nothing).
bool refuse_node_write(http::Exchange& ex, const HouseholdContext& ctx,
                       const secrets::Scope& scope) {
  if (ctx.node_id.empty()) return false;
  if (scope.scope == "node" && scope.node_id == ctx.node_id) return false;
  send_error(ex, {403, "Nodes may only change their own node's secrets"});
  return true;
}

template <typename T>
bool failed(http::Exchange& ex, const std::variant<T, ApiError>& v) {
  if (auto* e = std::get_if<ApiError>(&v)) {
    send_error(ex, *e);
    return true;
  }
  return false;
}

// A write's answer: the metadata of the row it returned, with its ETag (the
// statements return the written row, so no second query reads it back).
void send_written(http::Exchange& ex, const std::variant<pqxx::result, ApiError>& result) {
  if (failed(ex, result)) return;
  const auto& row = std::get<pqxx::result>(result).at(0);
  send_secret(ex, row, secrets::metadata_json(row));
}

void list_secrets(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto query = secrets::read_list_query(ex.req);
  if (failed(ex, query)) return;
  const auto& q = std::get<secrets::ListQuery>(query);

  auto result = run_read(app, ctx, "", [&](SecretsStatements& s) {
    return s.list(ctx, q.scope, q.node_id, q.limit, q.offset);
  });
  if (failed(ex, result)) return;
  const auto& rows = std::get<pqxx::result>(result);

  nlohmann::json data = nlohmann::json::array();
  long long total = 0;
  for (const auto& row : rows) {
    total = row["total"].as<long long>(0);
    if (!row["id"].is_null()) data.push_back(secrets::metadata_json(row));
  }
  long long shown = static_cast<long long>(data.size());
  nlohmann::json pagination = {
      {"limit", q.limit},
      {"offset", q.offset},
      {"total", total},
      {"hasMore", q.offset + shown < total},
  };
  http::json_response(ex.res, 200, {{"data", std::move(data)}, {"pagination", pagination}});
}

void get_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto scope = secrets::read_scope(ex.req, nullptr, defaults_for(ctx));
  if (failed(ex, scope)) return;
  const auto& sc = std::get<secrets::Scope>(scope);
  auto version = secrets::read_version_query(ex.req);
  if (failed(ex, version)) return;
  const auto& wanted = std::get<std::optional<int>>(version);

  auto result = run_read(app, ctx, *key, [&](SecretsStatements& s) {
    return wanted ? s.get_version(ctx, *key, sc.scope, sc.node_id, *wanted)
                  : s.get(ctx, *key, sc.scope, sc.node_id);
  });
  if (failed(ex, result)) return;
  const auto& rows = std::get<pqxx::result>(result);
  if (rows.empty() && wanted) {
    return send_error(ex, {404, "Version " + std::to_string(*wanted) + " of secret \"" + *key +
                                    "\" is not kept"});
  }
  if (rows.empty()) return send_error(ex, {404, secrets::not_found_message(*key)});
  send_secret(ex, rows[0], secrets::secret_json(rows[0]));
}

void create_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto request = secrets::read_create_request(ex.req, ex.body, defaults_for(ctx));
  if (failed(ex, request)) return;
  const auto& r = std::get<secrets::CreateRequest>(request);
  if (refuse_node_write(ex, ctx, r.scope)) return;

  auto result = run_write(app, ctx, r.key, [&](SecretsStatements& s) {
    return s.create(ctx, r.key, r.value, r.scope.scope, r.value_type, r.scope.node_id,
                    r.description);
  });
  send_written(ex, result);
}

void update_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto request = secrets::read_update_request(ex.req, ex.body, defaults_for(ctx));
  if (failed(ex, request)) return;
  const auto& r = std::get<secrets::UpdateRequest>(request);
  if (refuse_node_write(ex, ctx, r.scope)) return;
  auto expected = expected_version(ex);
  if (!expected) return;

  auto result = run_write(app, ctx, *key, [&](SecretsStatements& s) {
    return s.update(ctx, *key, r.scope.scope, r.scope.node_id, r.value, r.description, *expected);
  });
  send_written(ex, result);
}

void delete_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto scope = secrets::read_scope(ex.req, nullptr, defaults_for(ctx));
  if (failed(ex, scope)) return;
  const auto& sc = std::get<secrets::Scope>(scope);
  if (refuse_node_write(ex, ctx, sc)) return;
  auto expected = expected_version(ex);
  if (!expected) return;

  auto result = run_write(app, ctx, *key, [&](SecretsStatements& s) {
    return s.remove(ctx, *key, sc.scope, sc.node_id, *expected);
  });
  if (failed(ex, result)) return;
  const auto& rows = std::get<pqxx::result>(result);
  if (rows.empty() || !rows[0]["deleted"].as<bool>(false)) {
    return send_error(ex, {404, secrets::not_found_message(*key)});
  }
  send_data(ex, {{"deleted", true}});
}

void list_versions(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto scope = secrets::read_scope(ex.req, nullptr, defaults_for(ctx));
  if (failed(ex, scope)) return;
  const auto& sc = std::get<secrets::Scope>(scope);

  auto result = run_read(app, ctx, *key, [&](SecretsStatements& s) {
    return s.versions(ctx, *key, sc.scope, sc.node_id);
  });
  if (failed(ex, result)) return;
  const auto& rows = std::get<pqxx::result>(result);
  if (rows.empty()) return send_error(ex, {404, secrets::not_found_message(*key)});
  nlohmann::json data = nlohmann::json::array();
  for (const auto& row : rows) data.push_back(secrets::version_json(row));
  send_data(ex, std::move(data));
}

void rollback_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto request = secrets::read_rollback_request(ex.req, ex.body, defaults_for(ctx));
  if (failed(ex, request)) return;
  const auto& r = std::get<secrets::RollbackRequest>(request);
  if (refuse_node_write(ex, ctx, r.scope)) return;
  auto expected = expected_version(ex);
  if (!expected) return;

  auto result = run_write(app, ctx, *key, [&](SecretsStatements& s) {
    return s.rollback(ctx, *key, r.scope.scope, r.scope.node_id, r.version, *expected);
  });
  send_written(ex, result);
}

void restore_secret(http::Exchange& ex, App& app, const HouseholdContext& ctx) {
  auto key = path_key(ex);
  if (!key) return;
  auto scope = secrets::read_restore_request(ex.req, ex.body, defaults_for(ctx));
  if (failed(ex, scope)) return;
  const auto& sc = std::get<secrets::Scope>(scope);
  if (refuse_node_write(ex, ctx, sc)) return;

  auto result = run_write(app, ctx, *key, [&](SecretsStatements& s) {
    return s.restore(ctx, *key, sc.scope, sc.node_id);
  });
  send_written(ex, result);
}

}  // namespace

void register_secrets_routes(Router& router) {
  App& app = router.app();
  // Every handler acts for the caller's household (Access::Household).
  using Handler = void (*)(http::Exchange&, App&, const HouseholdContext&);
  auto in_household = [&app](Handler handler) {
    return [&app, handler](http::Exchange& ex, const Caller& caller) {
      handler(ex, app, secrets::household_of(caller));
    };
  };
  // (.+): every non-empty remainder reaches the handler, so a malformed key
  // ("A/B", "../X", "%00") is answered by the key rule (400), not a bare 404.
  const std::string one = R"(/api/secrets/(.+))";
  // Before `one`, which would take "KEY/versions" for a key (and refuse it).
  const std::string sub = R"(/api/secrets/([^/]+)/)";
  router.get(sub + "versions", Access::Household, in_household(list_versions));
  router.post(sub + "rollback", Access::Household, in_household(rollback_secret));
  router.post(sub + "restore", Access::Household, in_household(restore_secret));
  router.get("/api/secrets", Access::Household, in_household(list_secrets));
  router.post("/api/secrets", Access::Household, in_household(create_secret));
  router.get(one, Access::Household, in_household(get_secret));
  router.put(one, Access::Household, in_household(update_secret));
  router.del(one, Access::Household, in_household(delete_secret));
}

}  // namespace secretsd
