// The instance administrators' audit: every change to apps and nodes and
// every use of the break-glass key is recorded with who acted, in a hash
// chain that notices a rewritten entry; scoped app grants are stored and
// refused when malformed. Against a real secretsd and PostgreSQL.
#include <string>

#include <pqxx/pqxx>

#include "harness.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
const std::string kJson = "application/json";

class AdminAuditTest : public SecretsdTest {};

std::string unique_app_id() {
  static int n = 0;
  return "audit-app-" + std::to_string(::getpid()) + "-" + std::to_string(++n);
}

json admin_audit(const std::string& query) {
  auto res = client().Get(("/api/v0/admin/audit" + query).c_str(), admin_headers());
  EXPECT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  return body_of(res)["data"];
}

TEST_F(AdminAuditTest, AppChangesAndBreakGlassUsesAreRecordedWithTheirActor) {
  const std::string app = unique_app_id();
  auto created = client().Post("/api/v0/admin/apps", admin_headers(),
                               json{{"app_id", app}}.dump(), kJson);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201);
  auto rotated = client().Post(("/api/v0/admin/apps/" + app + "/rotate").c_str(), admin_headers(),
                               "", kJson);
  ASSERT_EQ(rotated->status, 200);

  json data = admin_audit("?action=app.create&limit=1000");
  bool found = false;
  for (const auto& e : data["entries"]) found = found || e["target"] == app;
  EXPECT_TRUE(found) << "app.create for the new app is in the admin audit";
  EXPECT_EQ(data["chain"]["verified"], true);

  json rotations = admin_audit("?action=app.rotate&limit=5");
  ASSERT_FALSE(rotations["entries"].empty());
  EXPECT_EQ(rotations["entries"][0]["target"], app);
  EXPECT_EQ(rotations["entries"][0]["actor"], "admin");

  // The audit read itself used the break-glass key: recorded with its path.
  json uses = admin_audit("?action=break_glass.use&limit=1");
  ASSERT_EQ(uses["entries"].size(), 1u);
  EXPECT_EQ(uses["entries"][0]["detail"]["path"], "/api/v0/admin/audit");
  EXPECT_NE(secretsd_output().find("\"event\":\"break_glass_key_used\""), std::string::npos);
}

TEST_F(AdminAuditTest, SettingChangesAreRecordedWithoutTheirValue) {
  const std::string name = "AUDIT_SETTING_" + std::to_string(::getpid());
  const std::string path = "/api/v0/admin/settings/" + name;
  auto put = client().Put(path.c_str(), admin_headers(),
                          json{{"value", "sk-audit-value-1"}, {"is_sensitive", true}}.dump(), kJson);
  ASSERT_TRUE(put);
  ASSERT_EQ(put->status, 201);
  auto del = client().Delete(path.c_str(), admin_headers());
  ASSERT_EQ(del->status, 200);
  json sets = admin_audit("?action=setting.set&limit=5");
  ASSERT_FALSE(sets["entries"].empty());
  EXPECT_EQ(sets["entries"][0]["target"], name);
  EXPECT_EQ(sets["entries"][0]["actor"], "admin");
  EXPECT_EQ(sets.dump().find("sk-audit-value-1"), std::string::npos) << "no value in the audit";
  json deletes = admin_audit("?action=setting.delete&limit=5");
  ASSERT_FALSE(deletes["entries"].empty());
  EXPECT_EQ(deletes["entries"][0]["target"], name);
}

TEST_F(AdminAuditTest, AFailedChangeRecordsNothing) {
  const std::string missing = unique_app_id();
  auto res = client().Post(("/api/v0/admin/apps/" + missing + "/rotate").c_str(), admin_headers(),
                           "", kJson);
  ASSERT_EQ(res->status, 404);
  json data = admin_audit("?action=app.rotate&limit=1000");
  for (const auto& e : data["entries"]) EXPECT_NE(e["target"], missing);
}

TEST_F(AdminAuditTest, CursorPagesWithoutGapsOrRepeats) {
  for (int i = 0; i < 3; ++i) {
    auto res = client().Post("/api/v0/admin/apps", admin_headers(),
                             json{{"app_id", unique_app_id()}}.dump(), kJson);
    ASSERT_EQ(res->status, 201);
  }
  json first = admin_audit("?limit=2");
  ASSERT_EQ(first["entries"].size(), 2u);
  ASSERT_TRUE(first["next_cursor"].is_string());
  json second = admin_audit("?limit=2&cursor=" + first["next_cursor"].get<std::string>());
  ASSERT_FALSE(second["entries"].empty());
  // The break-glass use of the second read is newer than the cursor: pages
  // continue strictly below it.
  EXPECT_LT(second["entries"][0]["seq"].get<long long>(),
            first["entries"][1]["seq"].get<long long>());
}

TEST_F(AdminAuditTest, BadFiltersAre400) {
  for (const char* q : {"?since=yesterday", "?until=2026-13-01T00:00:00Z", "?limit=0",
                        "?limit=1001", "?cursor=-1", "?cursor=abc"}) {
    auto res = client().Get((std::string("/api/v0/admin/audit") + q).c_str(), admin_headers());
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << q;
  }
}

TEST_F(AdminAuditTest, ARewrittenEntryBreaksTheChain) {
  auto res = client().Post("/api/v0/admin/apps", admin_headers(),
                           json{{"app_id", unique_app_id()}}.dump(), kJson);
  ASSERT_EQ(res->status, 201);
  auto db = superuser_db();
  long long seq = 0;
  {
    pqxx::work tx(db);
    seq = tx.exec1("SELECT max(seq) FROM secretsd.admin_audit WHERE action = 'app.create'")[0]
              .as<long long>();
    tx.exec("ALTER TABLE secretsd.admin_audit DISABLE TRIGGER admin_audit_append_only");
    tx.exec_params("UPDATE secretsd.admin_audit SET actor = 'user:someone-else' WHERE seq = $1", seq);
    tx.exec("ALTER TABLE secretsd.admin_audit ENABLE TRIGGER admin_audit_append_only");
    json chain_check;
    auto broken = tx.exec("SELECT seq FROM secretsd.verify_admin_audit()");
    ASSERT_EQ(broken.size(), 1u);
    EXPECT_EQ(broken[0][0].as<long long>(), seq);
    tx.abort();  // the shared database keeps its intact chain
  }
  {
    pqxx::work tx(db);
    EXPECT_THROW(tx.exec("DELETE FROM secretsd.admin_audit"), pqxx::sql_error)
        << "the admin audit is append-only";
  }
}

TEST_F(AdminAuditTest, ScopedGrantsAreStoredAndMalformedOnesRefused) {
  TestUser owner = register_user();
  const std::string app = unique_app_id();
  json grants = json::array({{{"household_id", owner.household_id},
                              {"privilege", "read"},
                              {"key_prefix", "WEATHER_"}}});
  auto res = client().Post("/api/v0/admin/apps", admin_headers(),
                           json{{"app_id", app}, {"grants", grants}}.dump(), kJson);
  ASSERT_EQ(res->status, 201);
  json body = body_of(res);
  EXPECT_EQ(body["grants"][0]["privilege"], "read");
  EXPECT_EQ(body["grants"][0]["key_prefix"], "WEATHER_");
  {
    auto db = superuser_db();
    pqxx::work tx(db);
    auto row = tx.exec_params1(
        "SELECT privilege, key_prefix FROM secretsd.app_households WHERE app_id = $1", app);
    EXPECT_EQ(row[0].as<std::string>(), "read");
    EXPECT_EQ(row[1].as<std::string>(), "WEATHER_");
  }
  const std::string path = "/api/v0/admin/apps/" + app + "/households";
  for (const json& bad : {json::array({{{"household_id", owner.household_id}, {"privilege", "admin"}}}),
                          json::array({{{"household_id", owner.household_id}, {"key_prefix", "weather"}}}),
                          json::array({{{"household_id", "nope"}}}), json::array({"x"})}) {
    auto r = client().Put(path.c_str(), admin_headers(), json{{"grants", bad}}.dump(), kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad.dump();
  }
  auto both = client().Put(path.c_str(), admin_headers(),
                           json{{"grants", grants}, {"household_ids", json::array()}}.dump(), kJson);
  EXPECT_EQ(both->status, 400);
  // A refused change left the grant as it was.
  auto db = superuser_db();
  pqxx::work tx(db);
  EXPECT_EQ(tx.exec_params1("SELECT key_prefix FROM secretsd.app_households WHERE app_id = $1", app)[0]
                .as<std::string>(),
            "WEATHER_");
}

}  // namespace
}  // namespace secretsd::it
