// /api/secrets end to end: shapes and status codes of the reference,
// household, node and app isolation, pagination, the one-statement household
// context, decryption failures, and values kept out of secretsd's output.
#include <atomic>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "db/session.h"
#include "secrets/statements.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::error_body;
using secrets_api::post_json;
using secrets_api::put_json;

class SecretsApiTest : public SecretsdTest {
 protected:
  static std::string key(const std::string& stem) { return secrets_api::unique_key(stem); }

  static json create(const TestUser& u, const json& body, int want = 200) {
    auto c = client();
    auto res = post_json(c, "/api/secrets", body, auth_header(u.access_token));
    EXPECT_TRUE(res);
    if (!res) return json();
    EXPECT_EQ(res->status, want) << res->body;
    return body_of(res);
  }
};

TEST_F(SecretsApiTest, CreateGetUpdateListDeleteFollowTheReference) {
  TestUser u = register_user("happy");
  auto c = client();
  auto h = auth_header(u.access_token);
  std::string k = key("GITHUB_TOKEN");

  auto created = post_json(c, "/api/secrets",
                           {{"key", k}, {"value", "ghp_first"}, {"description", "GitHub"}}, h);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(created->get_header_value("Content-Type"), "application/json");
  json d = body_of(created).at("data");
  EXPECT_EQ(d.at("key"), k);
  EXPECT_EQ(d.at("description"), "GitHub");
  EXPECT_EQ(d.at("scope"), "integration");
  EXPECT_TRUE(d.at("nodeId").is_null());
  EXPECT_EQ(d.at("valueType"), "string");
  EXPECT_EQ(d.at("version"), 1);
  EXPECT_EQ(d.at("createdBy"), "user:" + u.id);
  EXPECT_EQ(d.at("id").get<std::string>().size(), 36u);
  EXPECT_EQ(d.at("createdAt").get<std::string>().back(), 'Z');
  EXPECT_FALSE(d.contains("value"));

  auto got = c.Get(("/api/secrets/" + k).c_str(), h);
  ASSERT_TRUE(got);
  ASSERT_EQ(got->status, 200) << got->body;
  json g = body_of(got).at("data");
  EXPECT_EQ(g.at("key"), k);
  EXPECT_EQ(g.at("value"), "ghp_first");
  EXPECT_EQ(g.at("id"), d.at("id"));

  auto updated = put_json(c, "/api/secrets/" + k, {{"value", "ghp_second"}}, h);
  ASSERT_TRUE(updated);
  ASSERT_EQ(updated->status, 200) << updated->body;
  json ud = body_of(updated).at("data");
  EXPECT_EQ(ud.at("version"), 2);
  EXPECT_EQ(ud.at("description"), "GitHub") << "omitted description is kept";
  EXPECT_FALSE(ud.contains("value"));
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), h)).at("data").at("value"), "ghp_second");

  auto described = put_json(c, "/api/secrets/" + k, {{"description", "new text"}}, h);
  ASSERT_EQ(described->status, 200) << described->body;
  EXPECT_EQ(body_of(described).at("data").at("description"), "new text");
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), h)).at("data").at("value"), "ghp_second")
      << "a description-only update keeps the value";

  auto listed = c.Get("/api/secrets", h);
  ASSERT_EQ(listed->status, 200) << listed->body;
  json l = body_of(listed);
  ASSERT_EQ(l.at("data").size(), 1u);
  EXPECT_EQ(l.at("data")[0].at("key"), k);
  EXPECT_FALSE(l.at("data")[0].contains("value"));
  EXPECT_EQ(listed->body.find("ghp_second"), std::string::npos);
  EXPECT_EQ(l.at("pagination"),
            json({{"limit", 50}, {"offset", 0}, {"total", 1}, {"hasMore", false}}));

  auto deleted = c.Delete(("/api/secrets/" + k).c_str(), h);
  ASSERT_EQ(deleted->status, 200) << deleted->body;
  EXPECT_EQ(body_of(deleted), json({{"data", {{"deleted", true}}}}));

  auto gone = c.Get(("/api/secrets/" + k).c_str(), h);
  ASSERT_EQ(gone->status, 404);
  EXPECT_EQ(body_of(gone), error_body(404, "Secret with key \"" + k + "\" not found"));
}

TEST_F(SecretsApiTest, DocumentedErrorsHaveTheReferenceShapes) {
  TestUser u = register_user("errors");
  auto c = client();
  auto h = auth_header(u.access_token);
  std::string k = key("DUPLICATE");
  create(u, {{"key", k}, {"value", "v"}});

  auto dup = post_json(c, "/api/secrets", {{"key", k}, {"value", "other"}}, h);
  EXPECT_EQ(dup->status, 409);
  EXPECT_EQ(body_of(dup), error_body(409, "Secret with key \"" + k + "\" already exists"));

  const json bad_key = error_body(400, "Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)");
  for (std::string bad : {"lower_case", "1STARTS_WITH_DIGIT", "_LEADING", "HAS-DASH", "", "A B"}) {
    auto res = post_json(c, "/api/secrets", {{"key", bad}, {"value", "v"}}, h);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_EQ(body_of(res), bad_key) << bad;
  }
  auto long_key = post_json(c, "/api/secrets", {{"key", std::string(256, 'A')}, {"value", "v"}}, h);
  EXPECT_EQ(body_of(long_key), error_body(400, "Key must be 255 characters or less"));
  auto max_key = post_json(c, "/api/secrets", {{"key", std::string(255, 'K')}, {"value", "v"}}, h);
  EXPECT_EQ(max_key->status, 200) << max_key->body;

  auto path_key = c.Get("/api/secrets/not_snake", h);
  EXPECT_EQ(body_of(path_key), bad_key);

  std::string missing = key("MISSING");
  const json not_found = error_body(404, "Secret with key \"" + missing + "\" not found");
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + missing).c_str(), h)), not_found);
  EXPECT_EQ(body_of(put_json(c, "/api/secrets/" + missing, {{"value", "x"}}, h)), not_found);
  EXPECT_EQ(body_of(c.Delete(("/api/secrets/" + missing).c_str(), h)), not_found);

  auto nothing = put_json(c, "/api/secrets/" + k, json::object(), h);
  EXPECT_EQ(body_of(nothing), error_body(400, "Provide a value, a description, or both"));

  // Typed values: validated by the extension, whose message is passed on.
  std::string port = key("PORT");
  auto not_int = post_json(c, "/api/secrets",
                           {{"key", port}, {"value", "eighty"}, {"value_type", "int"}}, h);
  EXPECT_EQ(body_of(not_int), error_body(400, "value does not fit value_type \"int\""));
  create(u, {{"key", port}, {"value", "8080"}, {"value_type", "int"}});
  EXPECT_EQ(body_of(put_json(c, "/api/secrets/" + port, {{"value", "x"}}, h)),
            error_body(400, "value does not fit value_type \"int\""));
  std::string flag = key("FLAG");
  create(u, {{"key", flag}, {"value", "TRUE"}, {"value_type", "bool"}});
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + flag).c_str(), h)).at("data").at("value"), "true");

  // No credentials, bad credentials, the admin key.
  auto anonymous = c.Get("/api/secrets");
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_EQ(body_of(anonymous).at("statusCode"), 401);
  EXPECT_EQ(c.Get(("/api/secrets/" + k).c_str(), auth_header("not.a.jwt"))->status, 401);
  auto admin = c.Get("/api/secrets", admin_headers());
  EXPECT_EQ(admin->status, 403);
  EXPECT_EQ(body_of(admin).at("statusCode"), 403);
}

TEST_F(SecretsApiTest, HouseholdsAreIsolated) {
  TestUser a = register_user("household A");
  TestUser b = register_user("household B");
  auto c = client();
  std::string k = key("SHARED_NAME");
  create(a, {{"key", k}, {"value", "belongs-to-a"}});

  auto hb = auth_header(b.access_token);
  const json not_found = error_body(404, "Secret with key \"" + k + "\" not found");
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), hb)), not_found);
  EXPECT_EQ(body_of(put_json(c, "/api/secrets/" + k, {{"value", "stolen"}}, hb)), not_found);
  EXPECT_EQ(body_of(c.Delete(("/api/secrets/" + k).c_str(), hb)), not_found);
  auto list_b = body_of(c.Get("/api/secrets", hb));
  EXPECT_TRUE(list_b.at("data").empty());
  EXPECT_EQ(list_b.at("pagination").at("total"), 0);

  // The same key is a different secret in B.
  create(b, {{"key", k}, {"value", "belongs-to-b"}});
  auto ha = auth_header(a.access_token);
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), ha)).at("data").at("value"), "belongs-to-a");
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), hb)).at("data").at("value"), "belongs-to-b");

  // A member of A sees A's secrets.
  TestUser member = register_invited_user(a, "reader");
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k).c_str(), auth_header(member.access_token)))
                .at("data").at("value"),
            "belongs-to-a");
}

TEST_F(SecretsApiTest, NodesSeeIntegrationAndTheirOwnSecretsAndWriteOnlyTheirOwn) {
  TestUser u = register_user("nodes");
  NodeCredentials n1 = create_node(u.household_id);
  NodeCredentials n2 = create_node(u.household_id);
  std::string shared = key("WEATHER_KEY");
  std::string own = key("NODE_PORT");
  create(u, {{"key", shared}, {"value", "integration-value"}});
  create(u, {{"key", own}, {"value", "n1-value"}, {"scope", "node"}, {"node_id", n1.node_id}});
  create(u, {{"key", own}, {"value", "n2-value"}, {"scope", "node"}, {"node_id", n2.node_id}});

  auto c = client();
  auto h1 = node_headers(n1.node_id, n1.api_key);
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + shared).c_str(), h1)).at("data").at("value"),
            "integration-value");
  // scope=node without node_id means the node's own.
  auto mine = c.Get(("/api/secrets/" + own + "?scope=node").c_str(), h1);
  ASSERT_EQ(mine->status, 200) << mine->body;
  EXPECT_EQ(body_of(mine).at("data").at("value"), "n1-value");
  EXPECT_EQ(body_of(mine).at("data").at("nodeId"), n1.node_id);
  auto theirs = c.Get(("/api/secrets/" + own + "?scope=node&node_id=" + n2.node_id).c_str(), h1);
  EXPECT_EQ(body_of(theirs), error_body(404, "Secret with key \"" + own + "\" not found"));

  auto listed = body_of(c.Get("/api/secrets", h1));
  ASSERT_EQ(listed.at("data").size(), 2u) << listed.dump();
  for (const auto& m : listed.at("data")) {
    EXPECT_TRUE(m.at("nodeId").is_null() || m.at("nodeId") == n1.node_id) << m.dump();
  }
  auto filtered = body_of(c.Get(("/api/secrets?node_id=" + n2.node_id).c_str(), h1));
  EXPECT_TRUE(filtered.at("data").empty());

  // Writes: only its own node's secrets.
  const json refused = error_body(403, "Nodes may only change their own node's secrets");
  EXPECT_EQ(body_of(post_json(c, "/api/secrets", {{"key", key("NEW_SHARED")}, {"value", "x"}}, h1)),
            refused);
  EXPECT_EQ(body_of(put_json(c, "/api/secrets/" + shared, {{"value", "x"}}, h1)), refused);
  EXPECT_EQ(body_of(c.Delete(("/api/secrets/" + shared).c_str(), h1)), refused);
  EXPECT_EQ(body_of(post_json(c, "/api/secrets",
                              {{"key", key("OTHER")}, {"value", "x"}, {"node_id", n2.node_id}}, h1)),
            refused);
  EXPECT_EQ(body_of(c.Delete(("/api/secrets/" + own + "?node_id=" + n2.node_id).c_str(), h1)),
            refused);

  std::string created_key = key("NODE_TOKEN");
  auto created = post_json(c, "/api/secrets",
                           {{"key", created_key}, {"value", "node-made"}, {"scope", "node"}}, h1);
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_EQ(body_of(created).at("data").at("nodeId"), n1.node_id);
  EXPECT_EQ(body_of(created).at("data").at("createdBy"), "node:" + n1.node_id);
  auto changed = put_json(c, "/api/secrets/" + own + "?scope=node", {{"value", "n1-new"}}, h1);
  EXPECT_EQ(changed->status, 200) << changed->body;
  auto h2 = node_headers(n2.node_id, n2.api_key);
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + own + "?scope=node").c_str(), h2)).at("data").at("value"),
            "n2-value");
  EXPECT_EQ(c.Delete(("/api/secrets/" + created_key + "?scope=node").c_str(), h1)->status, 200);

  // A node of another household sees none of it.
  TestUser other = register_user("other");
  NodeCredentials stranger = create_node(other.household_id);
  auto hs = node_headers(stranger.node_id, stranger.api_key);
  EXPECT_EQ(c.Get(("/api/secrets/" + shared).c_str(), hs)->status, 404);
  EXPECT_TRUE(body_of(c.Get("/api/secrets", hs)).at("data").empty());
}

TEST_F(SecretsApiTest, AppsActForGrantedHouseholdsOnly) {
  TestUser a = register_user("app A");
  TestUser b = register_user("app B");
  std::string k = key("APP_VISIBLE");
  create(a, {{"key", k}, {"value", "for-the-app"}});
  AppCredentials app = create_app({a.household_id});
  auto c = client();

  auto granted = app_headers(app.app_id, app.app_key);
  granted.emplace("X-Household-Id", a.household_id);
  auto got = c.Get(("/api/secrets/" + k).c_str(), granted);
  ASSERT_EQ(got->status, 200) << got->body;
  EXPECT_EQ(body_of(got).at("data").at("value"), "for-the-app");
  auto made = post_json(c, "/api/secrets", {{"key", key("FROM_APP")}, {"value", "x"}}, granted);
  ASSERT_EQ(made->status, 200) << made->body;
  EXPECT_EQ(body_of(made).at("data").at("createdBy"), "app:" + app.app_id);

  auto not_granted = app_headers(app.app_id, app.app_key);
  not_granted.emplace("X-Household-Id", b.household_id);
  EXPECT_EQ(c.Get(("/api/secrets/" + k).c_str(), not_granted)->status, 403);
  EXPECT_EQ(c.Get("/api/secrets", not_granted)->status, 403);

  auto no_household = app_headers(app.app_id, app.app_key);
  auto res = c.Get(("/api/secrets/" + k).c_str(), no_household);
  EXPECT_EQ(res->status, 403);
  EXPECT_EQ(body_of(res).at("statusCode"), 403);

  auto wrong_key = app_headers(app.app_id, "wrong");
  wrong_key.emplace("X-Household-Id", a.household_id);
  EXPECT_EQ(c.Get(("/api/secrets/" + k).c_str(), wrong_key)->status, 401);
}

TEST_F(SecretsApiTest, ListIsPaginatedAndFiltered) {
  TestUser u = register_user("pages");
  NodeCredentials n = create_node(u.household_id);
  for (int i = 0; i < 7; ++i) create(u, {{"key", "PAGE_" + std::to_string(i)}, {"value", "v"}});
  create(u, {{"key", "PAGE_NODE"}, {"value", "v"}, {"node_id", n.node_id}});
  auto c = client();
  auto h = auth_header(u.access_token);

  auto first = body_of(c.Get("/api/secrets?limit=3", h));
  ASSERT_EQ(first.at("data").size(), 3u);
  EXPECT_EQ(first.at("data")[0].at("key"), "PAGE_0");
  EXPECT_EQ(first.at("pagination"),
            json({{"limit", 3}, {"offset", 0}, {"total", 8}, {"hasMore", true}}));
  auto last = body_of(c.Get("/api/secrets?limit=3&offset=6", h));
  ASSERT_EQ(last.at("data").size(), 2u);
  EXPECT_EQ(last.at("data")[0].at("key"), "PAGE_6");
  EXPECT_EQ(last.at("data")[1].at("key"), "PAGE_NODE");
  EXPECT_EQ(last.at("pagination").at("hasMore"), false);
  auto beyond = body_of(c.Get("/api/secrets?offset=100", h));
  EXPECT_TRUE(beyond.at("data").empty());
  EXPECT_EQ(beyond.at("pagination").at("total"), 8);

  EXPECT_EQ(body_of(c.Get("/api/secrets?scope=node", h)).at("pagination").at("total"), 1);
  EXPECT_EQ(body_of(c.Get("/api/secrets?scope=integration", h)).at("pagination").at("total"), 7);
  auto by_node = body_of(c.Get(("/api/secrets?node_id=" + n.node_id).c_str(), h));
  ASSERT_EQ(by_node.at("data").size(), 1u);
  EXPECT_EQ(by_node.at("data")[0].at("nodeId"), n.node_id);
  EXPECT_EQ(body_of(c.Get("/api/secrets?limit=500", h)).at("pagination").at("limit"), 500);

  for (std::string q : {"limit=0", "limit=501", "limit=abc", "limit=-1", "offset=-1", "offset=1e3",
                        "scope=global", "scope=integration&node_id=x", "limit=1&limit=2"}) {
    auto res = c.Get(("/api/secrets?" + q).c_str(), h);
    EXPECT_EQ(res->status, 400) << q;
    EXPECT_EQ(body_of(res).at("statusCode"), 400) << q;
  }
}

// The household context lives for one statement: the next statement on the
// same gateway connection sees nothing, and the GET statement's ordering
// (set_context before the row-level-security checked read) holds.
TEST_F(SecretsApiTest, HouseholdContextLastsOneStatement) {
  TestUser u = register_user("context");
  std::string k = key("CONTEXT_PROBE");
  create(u, {{"key", k}, {"value", "probe-value"}});

  std::string gateway_url = "dbname=" + database_name() + " user=secretsd_it";
  pqxx::connection conn(gateway_url);
  db::Context ctx{u.household_id, "user:" + u.id, "", "", ""};
  {
    pqxx::nontransaction tx(conn);
    db::Session session(tx, ctx, false);
    secrets::SecretsStatements statements(session);
    auto rows = statements.get(k, "integration", "");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0]["value"].as<std::string>(), "probe-value");

    // Next statement, same connection, no context.
    EXPECT_TRUE(tx.exec1("SELECT secrets.current_household()")[0].is_null());
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM secrets.secrets")[0].as<int>(), 0);
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM secrets.decrypted_secrets")[0].as<int>(), 0);
  }
  {
    pqxx::nontransaction tx(conn);
    EXPECT_THROW(tx.exec1("SELECT secrets.get_secret('" + k + "', 'integration')"),
                 pqxx::sql_error);
  }
  {
    // A context for another household finds nothing, even on the same key.
    TestUser other = register_user("context other");
    pqxx::nontransaction tx(conn);
    db::Context elsewhere{other.household_id, "user:" + other.id, "", "", ""};
    db::Session session(tx, elsewhere, false);
    secrets::SecretsStatements statements(session);
    EXPECT_TRUE(statements.get(k, "integration", "").empty());
  }
}

// Many requests from two households at once over the pool: every answer is
// the caller's own value, so no context ever leaks between pooled requests.
TEST_F(SecretsApiTest, ConcurrentRequestsNeverCrossHouseholds) {
  TestUser a = register_user("concurrent A");
  TestUser b = register_user("concurrent B");
  std::string k = key("CONCURRENT");
  create(a, {{"key", k}, {"value", "value-a"}});
  create(b, {{"key", k}, {"value", "value-b"}});

  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const TestUser& who = (t % 2 == 0) ? a : b;
      const std::string want = (t % 2 == 0) ? "value-a" : "value-b";
      auto c = client();
      for (int i = 0; i < 40; ++i) {
        auto res = c.Get(("/api/secrets/" + k).c_str(), auth_header(who.access_token));
        if (!res || res->status != 200 || body_of(res)["data"]["value"] != want) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// GET reads the value through secrets.get_secret, so a household that turned
// read auditing on gets one 'read' entry per GET, naming the caller.
TEST_F(SecretsApiTest, GetIsReadAuditedWhenTheHouseholdAsksForIt) {
  TestUser u = register_user("audit");
  std::string k = key("AUDITED");
  create(u, {{"key", k}, {"value", "audited-value"}});
  auto conn = superuser_db();
  auto reads = [&] {
    pqxx::nontransaction tx(conn);
    return tx.exec_params1("SELECT count(*) FROM secrets.audit_log WHERE household_id = $1"
                           " AND action = 'read' AND key = $2 AND actor = $3",
                           u.household_id, k, "user:" + u.id)[0].as<int>();
  };
  auto c = client();
  ASSERT_EQ(c.Get(("/api/secrets/" + k).c_str(), auth_header(u.access_token))->status, 200);
  EXPECT_EQ(reads(), 0) << "read auditing is off by default";
  {
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT secrets.use_household($1, for_session => true)", u.household_id);
    tx.exec("SELECT secrets.configure_household(audit_reads => true)");
  }
  ASSERT_EQ(c.Get(("/api/secrets/" + k).c_str(), auth_header(u.access_token))->status, 200);
  ASSERT_EQ(c.Get(("/api/secrets/" + k).c_str(), auth_header(u.access_token))->status, 200);
  EXPECT_EQ(reads(), 2);
  // The list never reads values.
  ASSERT_EQ(c.Get("/api/secrets", auth_header(u.access_token))->status, 200);
  EXPECT_EQ(reads(), 2);
}

TEST_F(SecretsApiTest, UndecryptableValueIs500WithoutDetails) {
  TestUser u = register_user("tamper");
  std::string k1 = key("TAMPER_ONE");
  std::string k2 = key("TAMPER_TWO");
  create(u, {{"key", k1}, {"value", "one"}});
  create(u, {{"key", k2}, {"value", "two"}});
  {
    // A ciphertext copied into another row fails its associated data.
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    tx.exec_params(
        "UPDATE secrets.secrets SET value = (SELECT value FROM secrets.secrets"
        " WHERE household_id = $1 AND key = $2) WHERE household_id = $1 AND key = $3",
        u.household_id, k2, k1);
  }
  auto c = client();
  auto res = c.Get(("/api/secrets/" + k1).c_str(), auth_header(u.access_token));
  EXPECT_EQ(res->status, 500);
  EXPECT_EQ(body_of(res), error_body(500, "Secret could not be decrypted"));
  EXPECT_NE(secretsd_output().find("secret_decrypt_failed"), std::string::npos);
  // The list never decrypts, so it still works.
  EXPECT_EQ(c.Get("/api/secrets", auth_header(u.access_token))->status, 200);
}

TEST_F(SecretsApiTest, ValuesAndCredentialsNeverReachTheOutput) {
  const std::string canary = "CANARY-value-7f3a9c1e";
  TestUser u = register_user("canary");
  auto c = client();
  auto h = auth_header(u.access_token);
  std::string k = key("CANARY");
  std::string typed = key("CANARY_INT");
  create(u, {{"key", k}, {"value", canary + "-1"}, {"description", "canary"}});
  c.Get(("/api/secrets/" + k).c_str(), h);
  put_json(c, "/api/secrets/" + k, {{"value", canary + "-2"}}, h);
  c.Get(("/api/secrets/" + k).c_str(), h);
  c.Get("/api/secrets", h);
  post_json(c, "/api/secrets", {{"key", k}, {"value", canary + "-3"}}, h);            // 409
  post_json(c, "/api/secrets", {{"key", "bad key"}, {"value", canary + "-4"}}, h);    // 400
  post_json(c, "/api/secrets",
            {{"key", typed}, {"value", canary + "-5"}, {"value_type", "int"}}, h);   // 400 (SQL)
  post_json(c, "/api/secrets", {{"key", k}, {"value", canary + "-6"}},
            auth_header(u.access_token + "x"));                                      // 401
  c.Post("/api/secrets", h, "{\"key\":\"" + k + "\",\"value\":\"" + canary + "-7", "application/json");
  post_json(c, "/api/v0/auth/login", {{"email", u.email}, {"password", canary + "-pw"}}, {});
  login(u);
  c.Delete(("/api/secrets/" + k).c_str(), h);
  // The control: the access log writes every request's path, so a marker
  // sent in a path must be found by the same search, in the same output,
  // captured at the same moment. Without it, an output that was never
  // captured (or not flushed yet) would pass as canary-free.
  const std::string control = key("CONTROL_MARKER");
  c.Get(("/api/secrets/" + control).c_str(), h);

  std::string out = secretsd_output();
  EXPECT_NE(out.find(control), std::string::npos) << "the search cannot see secretsd's output";
  EXPECT_EQ(out.find(canary), std::string::npos);
  EXPECT_EQ(out.find(u.password), std::string::npos);
  EXPECT_EQ(out.find(u.access_token), std::string::npos);
  EXPECT_EQ(out.find(u.refresh_token), std::string::npos);
}

// bench/http_bench.sh compares secretsd with pgbench running the same
// statement: the pgbench script must be the service's GET statement with its
// parameters named.
TEST(SecretsBenchScript, PgbenchRunsTheServiceGetStatement) {
  std::ifstream in(PROJECT_SOURCE_DIR "/bench/http_bench_get.sql");
  ASSERT_TRUE(in) << "bench/http_bench_get.sql is missing";
  std::string line, script;
  while (std::getline(in, line)) {
    if (line.rfind("SELECT * FROM ", 0) == 0) script = line;  // the statement (one line)
  }
  ASSERT_FALSE(script.empty());
  ASSERT_EQ(script.back(), ';');
  script.pop_back();

  std::string sql = secrets::get_secret_sql();
  const char* names[] = {"",           ":household", ":actor", ":caller_node", ":role",
                         ":key_prefix", ":key",       ":scope", ":node_id"};
  for (int n = 8; n >= 1; --n) {
    std::string param = "$" + std::to_string(n);
    for (auto pos = sql.find(param); pos != std::string::npos; pos = sql.find(param, pos)) {
      sql.replace(pos, param.size(), names[n]);
    }
  }
  EXPECT_EQ(script, sql);
}

// The key and scope rules live in the extension alone (secrets.check_key,
// secrets.check_scope): every route that names a secret answers a malformed
// name with the rule's own text, read here from the extension itself, so a
// reworded or changed rule needs no change in secretsd.
TEST_F(SecretsApiTest, NameRulesAreTheExtensionsOwn) {
  auto rule_message = [](const std::string& call) {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    try {
      tx.exec("SELECT " + call);
    } catch (const pqxx::sql_error& e) {
      std::string text = e.what();  // "ERROR:  <message>\n..."
      text = text.substr(text.find(':') + 1);
      text = text.substr(text.find_first_not_of(' '));
      return text.substr(0, text.find('\n'));
    }
    return std::string("(no error)");
  };
  const std::string bad_key = rule_message("secrets.check_key('lower_case')");
  const std::string bad_scope = rule_message("secrets.check_scope('everything', NULL)");
  const std::string node_needs_id = rule_message("secrets.check_scope('node', NULL)");
  ASSERT_NE(bad_key, "(no error)");

  TestUser u = register_user("rules");
  const auto h = auth_header(u.access_token);
  auto c = client();
  const std::string good = key("RULES");
  create(u, {{"key", good}, {"value", "v"}});
  auto expect_rule = [](const char* what, const httplib::Result& res, const std::string& message) {
    SCOPED_TRACE(what);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400);
    EXPECT_EQ(body_of(res), error_body(400, message));
  };
  expect_rule("GET key", c.Get("/api/secrets/lower_case", h), bad_key);
  expect_rule("GET version", c.Get("/api/secrets/lower_case?version=1", h), bad_key);
  expect_rule("PUT key", put_json(c, "/api/secrets/lower_case", {{"value", "x"}}, h), bad_key);
  expect_rule("DELETE key", c.Delete("/api/secrets/lower_case", h), bad_key);
  expect_rule("versions", c.Get("/api/secrets/lower_case/versions", h), bad_key);
  expect_rule("rollback", post_json(c, "/api/secrets/lower_case/rollback", {{"version", 1}}, h), bad_key);
  expect_rule("restore", c.Post("/api/secrets/lower_case/restore", h, "", "application/json"), bad_key);
  expect_rule("POST key", post_json(c, "/api/secrets", {{"key", "lower_case"}, {"value", "x"}}, h), bad_key);
  expect_rule("GET scope", c.Get(("/api/secrets/" + good + "?scope=everything").c_str(), h), bad_scope);
  expect_rule("DELETE scope", c.Delete(("/api/secrets/" + good + "?scope=everything").c_str(), h), bad_scope);
  expect_rule("list scope", c.Get("/api/secrets?scope=everything", h), bad_scope);
  expect_rule("POST node scope", post_json(c, "/api/secrets", {{"key", "NODE_X"}, {"value", "x"}, {"scope", "node"}}, h), node_needs_id);
}

}  // namespace
}  // namespace secretsd::it
