// /api/secrets handlers (Access::Household): read the request, then one
// statement through the Databases gateway (secrets/statements.h).
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
#include <optional>
#include <string>

#include <pqxx/except>

#include "api/caller.h"
#include "api/error.h"
#include "api/readers.h"
#include "api/router.h"
#include "db/databases.h"
#include "secrets/module.h"
#include "secrets/representation.h"
#include "secrets/statements.h"
#include "secrets/validation.h"

namespace secretsd::secrets {
namespace {

using api::ApiError;
using api::Caller;
using api::Reply;
using api::Request;

// A single secret's representation, with the ETag of its version.
Reply secret_reply(const pqxx::row& row, nlohmann::json data) {
  return Reply::data(std::move(data)).with_header("ETag", api::etag_for(row["version"].as<long long>(0)));
}

// The If-Match expectation to pass to SQL: nullopt when none, or "*" (which
// the write's own not-found check covers).
std::optional<int> expected_version(const Request& req) {
  auto expected = api::if_match(req).value();
  if (expected == api::kAnyVersion) expected.reset();
  return expected;
}

// The {key} path segment, validated.
std::string path_key(const Request& req) {
  std::string key = req.path_capture(1);
  if (auto e = check_key_text(key)) throw *e;
  return key;
}

ScopeDefaults defaults_for(const db::Context& ctx) { return ScopeDefaults{ctx.node_id}; }

// A node writes only its own node's secrets (row-level security would
// refuse the rest too, but as "not found" for updates: a clear 403 here is
// independent of whether the secret exists, so it leaks nothing).
void refuse_node_write(const db::Context& ctx, const Scope& scope) {
  if (ctx.node_id.empty()) return;
  if (scope.scope == "node" && scope.node_id == ctx.node_id) return;
  throw ApiError{403, "Nodes may only change their own node's secrets"};
}

// Runs one statement through `run` (Databases::read or write); SQL errors
// become the ApiError of api/error.h, worded for `key`.
template <typename Run, typename Fn>
pqxx::result statement(Run&& run, const std::string& key, Fn&& fn) {
  try {
    return run([&](db::Session& session) {
      SecretsStatements statements(session);
      return fn(statements);
    });
  } catch (const pqxx::sql_error& e) {
    if (db::is_unavailable(e)) throw;  // class 40: the transport's 503, send again
    throw api::from_sql_error(e, key);
  }
}

// A write's answer: the metadata of the row it returned, with its ETag (the
// statements return the written row, so no second query reads it back).
Reply written_reply(const pqxx::result& rows) {
  const auto& row = rows.at(0);
  return secret_reply(row, metadata_json(row));
}

}  // namespace

void SecretsModule::register_routes(api::Router& router) {
  using api::Access;
  auto read = [this](const db::Context& ctx, const std::string& key, auto&& fn) {
    return statement([&](auto&& f) { return databases_.read(ctx, f); }, key, fn);
  };
  auto write = [this](const db::Context& ctx, const std::string& key, auto&& fn) {
    return statement([&](auto&& f) { return databases_.write(ctx, f); }, key, fn);
  };

  auto list_secrets = [read](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto q = read_list_query(req).value();
    auto rows = read(ctx, "", [&](SecretsStatements& s) {
      return s.list(q.scope, q.node_id, q.limit, q.offset);
    });
    nlohmann::json data = nlohmann::json::array();
    long long total = 0;
    for (const auto& row : rows) {
      total = row["total"].as<long long>(0);
      if (!row["id"].is_null()) data.push_back(metadata_json(row));
    }
    long long shown = static_cast<long long>(data.size());
    nlohmann::json pagination = {
        {"limit", q.limit},
        {"offset", q.offset},
        {"total", total},
        {"hasMore", q.offset + shown < total},
    };
    return Reply::json(200, {{"data", std::move(data)}, {"pagination", pagination}});
  };

  auto get_secret = [read](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto sc = read_scope(req, nullptr, defaults_for(ctx)).value();
    const auto wanted = read_version_query(req).value();
    auto rows = read(ctx, key, [&](SecretsStatements& s) {
      return wanted ? s.get_version(key, sc.scope, sc.node_id, *wanted)
                    : s.get(key, sc.scope, sc.node_id);
    });
    if (rows.empty() && wanted) {
      return Reply::error({404, "Version " + std::to_string(*wanted) + " of secret \"" + key +
                                    "\" is not kept"});
    }
    if (rows.empty()) return Reply::error({404, api::not_found_message(key)});
    return secret_reply(rows[0], secret_json(rows[0]));
  };

  auto create_secret = [write](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto r = read_create_request(req, defaults_for(ctx)).value();
    refuse_node_write(ctx, r.scope);
    return written_reply(write(ctx, r.key, [&](SecretsStatements& s) {
      return s.create(r.key, r.value, r.scope.scope, r.value_type, r.scope.node_id, r.description);
    }));
  };

  auto update_secret = [write](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto r = read_update_request(req, defaults_for(ctx)).value();
    refuse_node_write(ctx, r.scope);
    const auto expected = expected_version(req);
    return written_reply(write(ctx, key, [&](SecretsStatements& s) {
      return s.update(key, r.scope.scope, r.scope.node_id, r.value, r.description, expected);
    }));
  };

  auto delete_secret = [write](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto sc = read_scope(req, nullptr, defaults_for(ctx)).value();
    refuse_node_write(ctx, sc);
    const auto expected = expected_version(req);
    auto rows = write(ctx, key, [&](SecretsStatements& s) {
      return s.remove(key, sc.scope, sc.node_id, expected);
    });
    if (rows.empty() || !rows[0]["deleted"].as<bool>(false)) {
      return Reply::error({404, api::not_found_message(key)});
    }
    return Reply::data({{"deleted", true}});
  };

  auto list_versions = [read](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto sc = read_scope(req, nullptr, defaults_for(ctx)).value();
    auto rows = read(ctx, key, [&](SecretsStatements& s) {
      return s.versions(key, sc.scope, sc.node_id);
    });
    if (rows.empty()) return Reply::error({404, api::not_found_message(key)});
    nlohmann::json data = nlohmann::json::array();
    for (const auto& row : rows) data.push_back(version_json(row));
    return Reply::data(std::move(data));
  };

  auto rollback_secret = [write](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto r = read_rollback_request(req, defaults_for(ctx)).value();
    refuse_node_write(ctx, r.scope);
    const auto expected = expected_version(req);
    return written_reply(write(ctx, key, [&](SecretsStatements& s) {
      return s.rollback(key, r.scope.scope, r.scope.node_id, r.version, expected);
    }));
  };

  auto restore_secret = [write](const Request& req, const Caller& caller) {
    const auto ctx = api::household_context(caller);
    const auto key = path_key(req);
    const auto sc = read_restore_request(req, defaults_for(ctx)).value();
    refuse_node_write(ctx, sc);
    return written_reply(write(ctx, key, [&](SecretsStatements& s) {
      return s.restore(key, sc.scope, sc.node_id);
    }));
  };

  // (.+): every non-empty remainder reaches the handler, so a malformed key
  // ("A/B", "../X", "%00") is answered by the key rule (400), not a bare 404.
  const std::string one = R"(/api/secrets/(.+))";
  // Before `one`, which would take "KEY/versions" for a key (and refuse it).
  const std::string sub = R"(/api/secrets/([^/]+)/)";
  router.get(sub + "versions", Access::Household, list_versions);
  router.post(sub + "rollback", Access::Household, rollback_secret);
  router.post(sub + "restore", Access::Household, restore_secret);
  router.get("/api/secrets", Access::Household, list_secrets);
  router.post("/api/secrets", Access::Household, create_secret);
  router.get(one, Access::Household, get_secret);
  router.put(one, Access::Household, update_secret);
  router.del(one, Access::Household, delete_secret);
}

}  // namespace secretsd::secrets
