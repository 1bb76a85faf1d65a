// The route x role matrix (issue 22): every route of the route table that
// main() serves, called by every kind of caller, against a real secretsd and
// PostgreSQL. Each route has one row below saying, for each caller, whether
// it is let through (any status but 401/403: it may still be a 400 or 404
// for the sample request) or refused (401 or 403). A route without a row,
// or a row for a route that is not served, fails the test: a new route
// cannot ship without deciding who may call it.
//
// Callers: anonymous; the household's owner, admin, writer, reader and
// auditor; an outsider (a user of another household naming this one in
// X-Household-Id); an instance admin (a user of another household); an app
// granted the household with write and one with read; a node of the
// household; the break-glass ADMIN_API_KEY.
#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "api/router.h"
#include "composition/modules.h"
#include "config/config.h"
#include "db/databases.h"
#include "events/change_hub.h"
#include "events/module.h"
#include "harness.h"
#include "http/server.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

constexpr const char* kCallers[] = {"anonymous", "owner",   "admin",         "writer",
                                    "reader",    "auditor", "outsider",      "instance_admin",
                                    "app_write", "app_read", "node",         "break_glass"};
constexpr std::size_t kCallerCount = sizeof(kCallers) / sizeof(kCallers[0]);

// The served route table, built as main() builds it (composition/modules.h)
// from the environment the shared secretsd process runs with.
std::vector<std::string> served_routes() {
  const Env env = secretsd_environment();
  auto loaded = load_config([&env](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
  if (!loaded.config) throw std::runtime_error("the test environment's configuration was refused");
  const Config& config = *loaded.config;
  db::DatabaseOptions options;
  options.primary_url = config.database_url;
  db::Databases databases(options);
  http::Server server;
  events::ChangeHub hub(events::hub_options(config));
  composition::Modules modules(config, databases, hub);
  api::Router router(server, modules.authenticator(), composition::Modules::access_policy(config));
  modules.register_routes(router);
  std::vector<std::string> out;
  for (const auto& r : router.routes()) out.push_back(r.method + " " + r.pattern);
  return out;
}

struct World {
  TestUser owner, admin, writer, reader, auditor, outsider, instance_admin, member;
  AppCredentials app_write, app_read, spare_app;
  NodeCredentials node, spare_node;
  std::string key;
};

// One row: the request to send and, per caller in kCallers order, what it
// gets: Y (let through: any status but 401, 403 and 404 -- a 400, 409 or
// 428 for the sample request is fine), or exactly 1 (401), 3 (403) or 4
// (404: the caller may not know the thing exists).
struct Row {
  Row(std::string p, std::string b, std::string e, int o = 0,
      std::function<void(const World&)> r = {})
      : path(std::move(p)), body(std::move(b)), expect(std::move(e)), order(o), reset(std::move(r)) {}
  std::string path;  // placeholders: see fill()
  std::string body;  // JSON text for POST/PUT/PATCH, placeholders too
  std::string expect;
  int order = 0;  // > 0: runs after the others, each caller signed in afresh (ends sessions)
  // Puts back what an earlier caller's successful call took away, before each call.
  std::function<void(const World&)> reset;
};

// The version the rollback row rolls back to: the one before the current
// (set by its reset, second_version()).
std::string previous_version = "1";

const TestUser* user_of(const World& w, std::size_t caller) {
  switch (caller) {
    case 1: return &w.owner;
    case 2: return &w.admin;
    case 3: return &w.writer;
    case 4: return &w.reader;
    case 5: return &w.auditor;
    case 6: return &w.outsider;
    case 7: return &w.instance_admin;
  }
  return nullptr;
}

httplib::Headers with_household(httplib::Headers h, const std::string& household) {
  h.emplace("X-Household-Id", household);
  return h;
}

httplib::Headers headers_for(const World& w, std::size_t caller) {
  const std::string& h = w.owner.household_id;
  switch (caller) {
    case 0: return {};
    case 1: return auth_header(w.owner.access_token);
    case 2: return auth_header(w.admin.access_token);
    case 3: return auth_header(w.writer.access_token);
    case 4: return auth_header(w.reader.access_token);
    case 5: return auth_header(w.auditor.access_token);
    case 6: return with_household(auth_header(w.outsider.access_token), h);
    case 7: return auth_header(w.instance_admin.access_token);
    case 8: return with_household(app_headers(w.app_write.app_id, w.app_write.app_key), h);
    case 9: return with_household(app_headers(w.app_read.app_id, w.app_read.app_key), h);
    case 10: return node_headers(w.node.node_id, w.node.api_key);
    case 11: return admin_headers();
  }
  return {};
}

std::string fill(std::string path, const World& w, std::size_t caller) {
  const TestUser* user = user_of(w, caller);
  const std::map<std::string, std::string> values = {
      {"{key}", w.key},
      {"{household}", w.owner.household_id},
      {"{member}", w.member.id},
      {"{owner}", w.owner.id},
      {"{spare_app}", w.spare_app.app_id},
      {"{node}", w.node.node_id},
      {"{spare_node}", w.spare_node.node_id},
      {"{instance_admin_email}", w.instance_admin.email},
      {"{password}", user ? user->password : std::string("not-a-user")},
      {"{refresh_token}", user ? user->refresh_token : std::string("not-a-token")},
      {"{previous_version}", previous_version},
  };
  for (const auto& [name, value] : values) {
    for (auto at = path.find(name); at != std::string::npos; at = path.find(name)) {
      path.replace(at, name.size(), value);
    }
  }
  return path;
}

// The status of one request. GETs stop reading after the headers, so a
// change stream answers like any other route.
int status_of(const std::string& method, const std::string& path, const std::string& text,
              const httplib::Headers& headers) {
  auto c = client();
  c.set_read_timeout(5, 0);
  if (method == "GET") {
    int status = -1;
    c.Get(path.c_str(), headers,
          [&](const httplib::Response& r) {
            status = r.status;
            return false;
          },
          [](const char*, size_t) { return false; });
    return status;
  }
  auto send = [&]() -> httplib::Result {
    if (method == "POST") return c.Post(path.c_str(), headers, text, "application/json");
    if (method == "PUT") return c.Put(path.c_str(), headers, text, "application/json");
    if (method == "PATCH") return c.Patch(path.c_str(), headers, text, "application/json");
    return c.Delete(path.c_str(), headers, text, "application/json");
  };
  auto res = send();
  return res ? res->status : -1;
}


// The spare app and node, and the member, as they were: an earlier row's
// successful revocation or removal does not turn a later row's call into a 404.
void restore_spares(const World& w) {
  auto db = superuser_db();
  pqxx::work tx(db);
  tx.exec_params("UPDATE secretsd.apps SET revoked_at = NULL WHERE app_id = $1", w.spare_app.app_id);
  tx.exec_params("UPDATE secretsd.nodes SET revoked_at = NULL WHERE node_id = $1", w.spare_node.node_id);
  tx.exec_params("INSERT INTO secretsd.memberships (user_id, household_id, role) "
                 "VALUES ($1::uuid, $2::uuid, 'reader') ON CONFLICT DO NOTHING",
                 w.member.id, w.owner.household_id);
  tx.commit();
}

// Put back with SQL what an earlier caller's call removed.
std::function<void(const World&)> sql_reset(std::string sql) {
  return [sql](const World& w) {
    auto db = superuser_db();
    pqxx::work tx(db);
    tx.exec(fill(sql, w, 0));
    tx.commit();
  };
}

// The matrix key deleted (by its owner), for the restore row.
void delete_key(const World& w) {
  auto c = client();
  c.Delete(("/api/secrets/" + w.key).c_str(), auth_header(w.owner.access_token));
}

// The matrix key with an earlier version kept behind its current one, for the rollback row.
void second_version(const World& w) {
  auto c = client();
  auto res = c.Put(("/api/secrets/" + w.key).c_str(), auth_header(w.owner.access_token),
                   json{{"value", "again"}}.dump(), "application/json");
  if (res && res->status == 200) {
    previous_version = std::to_string(body_of(res)["data"]["version"].get<int>() - 1);
  }
}

// The provider setting the settings rows read, change and delete.
void put_setting(const World&) {
  auto c = client();
  c.Put("/api/v0/admin/settings/MATRIX_SETTING", admin_headers(), json{{"value", "v"}}.dump(),
        "application/json");
}

// Callers:                anon owner admin writer reader auditor outsider iadmin app_w app_r node glass
const std::map<std::string, Row>& matrix() {
  static const std::map<std::string, Row> rows = {
      // ---- public
      {"GET /health", {"/health", "", "YYYYYYYYYYYY"}},
      {"GET /ready", {"/ready", "", "YYYYYYYYYYYY"}},
      {"GET /openapi.json", {"/openapi.json", "", "YYYYYYYYYYYY"}},
      {"POST /api/v0/auth/register", {"/api/v0/auth/register", "{}", "YYYYYYYYYYYY"}},
      {"POST /api/v0/auth/login", {"/api/v0/auth/login", "{}", "YYYYYYYYYYYY"}},
      {"POST /api/v0/auth/refresh", {"/api/v0/auth/refresh", "{}", "YYYYYYYYYYYY"}},
      {"POST /api/v0/auth/logout",
       {"/api/v0/auth/logout", R"({"refresh_token":"{refresh_token}"})", "YYYYYY1YYYYY", 1}},
      // ---- a person's own account
      {"GET /api/v0/auth/sessions", {"/api/v0/auth/sessions", "", "1YYYYY3Y3333"}},
      {"DELETE /api/v0/auth/sessions/([^/]+)",
       {"/api/v0/auth/sessions/00000000-0000-4000-8000-000000000000", "", "144444343333"}},
      {"POST /api/v0/auth/password",
       {"/api/v0/auth/password",
        R"({"current_password":"{password}","new_password":"Matrix-Route-Role-Check-2026!"})",
        "1YYYYY3Y3333", 2}},
      {"GET /api/v0/auth/2fa", {"/api/v0/auth/2fa", "", "1YYYYY3Y3333"}},
      {"POST /api/v0/auth/2fa/enrol", {"/api/v0/auth/2fa/enrol", "{}", "1YYYYY3Y3333"}},
      {"POST /api/v0/auth/2fa/confirm", {"/api/v0/auth/2fa/confirm", R"({"code":"000000"})", "1YYYYY3Y3333"}},
      {"DELETE /api/v0/auth/2fa", {"/api/v0/auth/2fa", R"({"password":"{password}"})", "144444343333"}},
      {"GET /api/v0/users/([^/]+)", {"/api/v0/users/{owner}", "", "1YY333343333"}},
      // ---- households and members
      {"GET /api/v0/households", {"/api/v0/households", "", "1YYYYY3Y3333"}},
      {"POST /api/v0/households/invites",
       {"/api/v0/households/invites", R"({"role":"reader"})", "1YY3333Y3333"}},
      {"PUT /api/v0/households/([^/]+)/two-factor",
       {"/api/v0/households/{household}/two-factor", R"({"required":false})", "1Y3333343333"}},
      {"GET /api/v0/households/([^/]+)/members",
       {"/api/v0/households/{household}/members", "", "1YY333343333"}},
      {"PATCH /api/v0/households/([^/]+)/members/([^/]+)",
       {"/api/v0/households/{household}/members/{member}", R"({"role":"reader"})", "1YY333343333"}},
      {"DELETE /api/v0/households/([^/]+)/members/([^/]+)",
       {"/api/v0/households/{household}/members/{member}", "", "1YY333343333", 0,
        sql_reset("INSERT INTO secretsd.memberships (user_id, household_id, role) "
                  "VALUES ('{member}', '{household}', 'reader') ON CONFLICT DO NOTHING")}},
      // ---- household secrets (the extension decides by role)
      {"GET /api/secrets", {"/api/secrets", "", "1YYYYY3YYYY3"}},
      {"POST /api/secrets",
       {"/api/secrets", R"({"key":"{key}_NEW","value":"x"})", "1YYY333YY333"}},
      {"GET /api/secrets/(.+)", {"/api/secrets/{key}", "", "1YYYY334YYY3"}},
      {"PUT /api/secrets/(.+)", {"/api/secrets/{key}", R"({"value":"y"})", "1YYY3334Y333"}},
      {"DELETE /api/secrets/(.+)", {"/api/secrets/{key}", "", "1YYY3334Y333"}},
      {"GET /api/secrets/([^/]+)/versions", {"/api/secrets/{key}/versions", "", "1YYYYY34YYY3"}},
      {"POST /api/secrets/([^/]+)/rollback",
       {"/api/secrets/{key}/rollback", R"({"version":{previous_version}})", "1YYY3334Y333", 0, second_version}},
      {"POST /api/secrets/([^/]+)/restore",
       {"/api/secrets/{key}/restore", "{}", "1YYY3334Y333", 0, delete_key}},
      {"GET /api/secrets/events", {"/api/secrets/events", "", "1YYYYY3YYYY3"}},
      {"GET /api/audit", {"/api/audit", "", "1YY33Y3Y3333"}},
      // ---- the settings relay (the node and its household's people)
      {"GET /api/v0/nodes/([^/]+)/settings-blob",
       {"/api/v0/nodes/{node}/settings-blob", "", "1YYYYY3444Y4"}},
      {"PUT /api/v0/nodes/([^/]+)/settings-blob",
       {"/api/v0/nodes/{node}/settings-blob", "replacement", "1YYYYY3444Y4"}},
      // ---- apps asking about credentials and runtimes
      {"POST /internal/validate-app", {"/internal/validate-app", "{}", "13333333YY33"}},
      {"POST /internal/validate-node", {"/internal/validate-node", "{}", "13333333YY33"}},
      {"POST /internal/runtimes", {"/internal/runtimes", "{}", "13333333YY33"}},
      {"GET /internal/runtime-env", {"/internal/runtime-env", "", "13333333YY33"}},
      // ---- instance administration: instance admins and the break-glass key
      {"POST /api/v0/admin/apps",
       {"/api/v0/admin/apps", R"({"app_id":"matrix-created-app"})", "1333333Y333Y"}},
      {"POST /api/v0/admin/apps/([^/]+)/rotate",
       {"/api/v0/admin/apps/{spare_app}/rotate", "", "1333333Y333Y"}},
      {"DELETE /api/v0/admin/apps/([^/]+)",
       {"/api/v0/admin/apps/{spare_app}", "", "1333333Y333Y", 0,
        sql_reset("UPDATE secretsd.apps SET revoked_at = NULL WHERE app_id = '{spare_app}'")}},
      {"PUT /api/v0/admin/apps/([^/]+)/households",
       {"/api/v0/admin/apps/{spare_app}/households", R"({"household_ids":["{household}"]})",
        "1333333Y333Y"}},
      {"GET /api/v0/admin/apps/([^/]+)/settings",
       {"/api/v0/admin/apps/{spare_app}/settings", "", "1333333Y333Y"}},
      {"PUT /api/v0/admin/apps/([^/]+)/settings",
       {"/api/v0/admin/apps/{spare_app}/settings", R"({"settings":[]})", "1333333Y333Y"}},
      {"POST /api/v0/admin/nodes",
       {"/api/v0/admin/nodes", R"({"node_id":"matrix-created-node","household_id":"{household}"})",
        "1333333Y333Y"}},
      {"POST /api/v0/admin/nodes/([^/]+)/rotate",
       {"/api/v0/admin/nodes/{spare_node}/rotate", "", "1333333Y333Y"}},
      {"DELETE /api/v0/admin/nodes/([^/]+)",
       {"/api/v0/admin/nodes/{spare_node}", "", "1333333Y333Y", 0,
        sql_reset("UPDATE secretsd.nodes SET revoked_at = NULL WHERE node_id = '{spare_node}'")}},
      {"GET /api/v0/admin/settings", {"/api/v0/admin/settings", "", "1333333Y333Y"}},
      {"GET /api/v0/admin/settings/([^/]+)",
       {"/api/v0/admin/settings/MATRIX_SETTING", "", "1333333Y333Y", 0, put_setting}},
      {"PUT /api/v0/admin/settings/([^/]+)",
       {"/api/v0/admin/settings/MATRIX_SETTING", R"({"value":"w"})", "1333333Y333Y"}},
      {"DELETE /api/v0/admin/settings/([^/]+)",
       {"/api/v0/admin/settings/MATRIX_SETTING", "", "1333333Y333Y", 0, put_setting}},
      {"POST /api/v0/admin/settings/([^/]+)/rollback",
       {"/api/v0/admin/settings/MATRIX_SETTING/rollback", "", "1333333Y333Y", 0, put_setting}},
      {"GET /api/v0/admin/runtimes", {"/api/v0/admin/runtimes", "", "1333333Y333Y"}},
      {"GET /api/v0/admin/audit", {"/api/v0/admin/audit", "", "1333333Y333Y"}},
      {"GET /api/v0/admin/instance-admins", {"/api/v0/admin/instance-admins", "", "1333333Y333Y"}},
      {"POST /api/v0/admin/instance-admins",
       {"/api/v0/admin/instance-admins", R"({"email":"{instance_admin_email}"})", "1333333Y333Y"}},
      {"DELETE /api/v0/admin/instance-admins/([^/]+)",
       {"/api/v0/admin/instance-admins/00000000-0000-4000-8000-000000000000", "", "133333343334"}},
  };
  return rows;
}

class RouteRoleMatrixTest : public SecretsdTest {};

// The console's page and files: public, and served only when
// SECRETSD_WEB_DIR holds the page (unit.RouteTable.OnlyTheseRoutesArePublic
// pins them); the integration tests run without it.
const std::set<std::string> kConsoleRoutes = {"GET /settings", "GET /static/(.+)"};

TEST_F(RouteRoleMatrixTest, EveryServedRouteHasARowAndEveryRowIsServed) {
  std::set<std::string> served;
  for (const auto& r : served_routes()) served.insert(r);
  for (const auto& r : served) {
    EXPECT_TRUE(matrix().count(r) || kConsoleRoutes.count(r)) << "no row in the matrix for " << r;
  }
  for (const auto& [r, row] : matrix()) {
    EXPECT_TRUE(served.count(r)) << "a row for a route that is not served: " << r;
    EXPECT_EQ(row.expect.size(), kCallerCount) << r;
  }
}

TEST_F(RouteRoleMatrixTest, EveryRouteAdmitsExactlyItsCallers) {
  World w;
  w.owner = register_user("Matrix household");
  w.admin = register_invited_user(w.owner, "admin");
  w.writer = register_invited_user(w.owner, "writer");
  w.reader = register_invited_user(w.owner, "reader");
  w.auditor = register_invited_user(w.owner, "auditor");
  w.member = register_invited_user(w.owner, "reader");
  w.outsider = register_user("Outsider household");
  w.instance_admin = register_user("Instance admin's household");
  {
    auto db = superuser_db();
    pqxx::work tx(db);
    tx.exec_params("UPDATE secretsd.users SET instance_admin = true WHERE id = $1::uuid",
                   w.instance_admin.id);
    tx.commit();
  }
  w.app_write = create_app({w.owner.household_id});
  w.app_read = create_app({});
  {
    auto c = client();
    auto res = c.Put(("/api/v0/admin/apps/" + w.app_read.app_id + "/households").c_str(),
                     admin_headers(),
                     json{{"grants", {{{"household_id", w.owner.household_id}, {"privilege", "read"}}}}}.dump(),
                     "application/json");
    ASSERT_TRUE(res && res->status == 200);
  }
  w.node = create_node(w.owner.household_id);
  w.key = "MATRIX_KEY_" + std::to_string(::getpid());

  w.spare_app = create_app({});
  w.spare_node = create_node(w.owner.household_id);
  w.key = "MATRIX_KEY_" + std::to_string(::getpid());
  {
    // The node's settings blob exists, so a GET that is let through is a 200.
    auto c = client();
    auto h = node_headers(w.node.node_id, w.node.api_key);
    h.emplace("If-None-Match", "*");
    auto res = c.Put(("/api/v0/nodes/" + w.node.node_id + "/settings-blob").c_str(), h,
                     std::string("opaque"), "application/octet-stream");
    ASSERT_TRUE(res && res->status < 300);
  }

  std::vector<std::pair<std::string, const Row*>> rows;
  for (const auto& [route, row] : matrix()) rows.emplace_back(route, &row);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
  for (const auto& [route, row] : rows) {
    const std::string method = route.substr(0, route.find(' '));
    if (row->order > 0) {
      // A row that ends sessions: every person signs in afresh first.
      for (TestUser* u : {&w.owner, &w.admin, &w.writer, &w.reader, &w.auditor, &w.outsider,
                          &w.instance_admin}) {
        *u = login(*u);
      }
    }
    for (std::size_t caller = 0; caller < kCallerCount && caller < row->expect.size(); ++caller) {
      {
        // Each call finds the secret there, as the owner left it.
        auto c = client();
        const auto owner = auth_header(w.owner.access_token);
        c.Post("/api/secrets", owner, json{{"key", w.key}, {"value", "matrix"}}.dump(), "application/json");
        c.Put(("/api/secrets/" + w.key).c_str(), owner, json{{"value", "matrix"}}.dump(),
              "application/json");
      }
      restore_spares(w);
      if (row->reset) row->reset(w);
      const int status =
          status_of(method, fill(row->path, w, caller), fill(row->body, w, caller), headers_for(w, caller));
      const char want = row->expect[caller];
      const bool let_through = status > 0 && status != 401 && status != 403 && status != 404;
      const bool ok = want == 'Y' ? let_through
                                  : status == (want == '1' ? 401 : want == '3' ? 403 : 404);
      EXPECT_TRUE(ok) << route << " as " << kCallers[caller] << ": status " << status
                      << ", expected " << (want == 'Y' ? std::string("let through") : std::string(1, want));
    }
  }
}

}  // namespace
}  // namespace secretsd::it
