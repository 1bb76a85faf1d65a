// Versions, rollback, restore and optimistic concurrency over REST:
// GET /api/secrets/{key}/versions, ?version=n, POST .../rollback and
// .../restore, ETag on reads and writes, If-Match on writes (412 when
// stale, and then nothing changes).
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::error_body;
using secrets_api::post_json;
using secrets_api::put_json;
using secrets_api::secrets_snapshot;

class SecretsVersionsTest : public SecretsdTest {
 protected:
  static std::string key(const std::string& stem) { return secrets_api::unique_key(stem); }

  static httplib::Headers with(httplib::Headers h, const std::string& name,
                               const std::string& value) {
    h.emplace(name, value);
    return h;
  }

  // Creates `k` and updates it until it has `versions` versions; values
  // are "<k>-v1", "<k>-v2", ...
  static void write_versions(const TestUser& u, const std::string& k, int versions) {
    auto c = client();
    auto h = auth_header(u.access_token);
    auto created = post_json(c, "/api/secrets", {{"key", k}, {"value", k + "-v1"}}, h);
    ASSERT_TRUE(created);
    ASSERT_EQ(created->status, 200) << created->body;
    for (int v = 2; v <= versions; ++v) {
      auto res = put_json(c, "/api/secrets/" + k, {{"value", k + "-v" + std::to_string(v)}}, h);
      ASSERT_TRUE(res);
      ASSERT_EQ(res->status, 200) << res->body;
    }
  }

  static std::string value_of(const TestUser& u, const std::string& path) {
    auto c = client();
    auto res = c.Get(path.c_str(), auth_header(u.access_token));
    if (!res || res->status != 200) return "<" + (res ? std::to_string(res->status) : "none") + ">";
    return body_of(res).at("data").at("value").get<std::string>();
  }
};

TEST_F(SecretsVersionsTest, VersionsAreListedNewestFirstWithoutValues) {
  TestUser u = register_user("versions");
  std::string k = key("ROTATED_TOKEN");
  write_versions(u, k, 3);

  auto c = client();
  auto res = c.Get(("/api/secrets/" + k + "/versions").c_str(), auth_header(u.access_token));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json data = body_of(res).at("data");
  ASSERT_EQ(data.size(), 3u);
  EXPECT_EQ(data[0].at("version"), 3);
  EXPECT_EQ(data[0].at("isCurrent"), true);
  EXPECT_EQ(data[1].at("version"), 2);
  EXPECT_EQ(data[1].at("isCurrent"), false);
  EXPECT_EQ(data[2].at("version"), 1);
  for (const auto& v : data) {
    EXPECT_FALSE(v.contains("value"));
    EXPECT_EQ(v.at("writtenBy"), "user:" + u.id);
    EXPECT_EQ(v.at("hasValue"), true);
    EXPECT_TRUE(v.at("keyVersion").is_number());
  }
  EXPECT_EQ(res->body.find(k + "-v"), std::string::npos) << "no value in the listing";

  auto missing = c.Get(("/api/secrets/" + key("NOPE") + "/versions").c_str(),
                       auth_header(u.access_token));
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
}

TEST_F(SecretsVersionsTest, AnOldVersionIsReadWithItsOwnETag) {
  TestUser u = register_user("old version");
  std::string k = key("OLD_VALUE");
  write_versions(u, k, 3);
  auto c = client();
  auto h = auth_header(u.access_token);

  auto current = c.Get(("/api/secrets/" + k).c_str(), h);
  ASSERT_TRUE(current);
  EXPECT_EQ(current->get_header_value("ETag"), "\"v3\"");
  auto v1 = c.Get(("/api/secrets/" + k + "?version=1").c_str(), h);
  ASSERT_TRUE(v1);
  ASSERT_EQ(v1->status, 200) << v1->body;
  EXPECT_EQ(v1->get_header_value("ETag"), "\"v1\"");
  EXPECT_EQ(body_of(v1).at("data").at("value"), k + "-v1");
  EXPECT_EQ(body_of(v1).at("data").at("version"), 1);
  EXPECT_EQ(value_of(u, "/api/secrets/" + k + "?version=3"), k + "-v3");

  auto absent = c.Get(("/api/secrets/" + k + "?version=9").c_str(), h);
  ASSERT_TRUE(absent);
  EXPECT_EQ(body_of(absent), error_body(404, "Version 9 of secret \"" + k + "\" is not kept"));

  for (const char* bad : {"0", "-1", "abc", "1.5", "99999999999", "", "1&version=2"}) {
    auto res = c.Get(("/api/secrets/" + k + "?version=" + bad).c_str(), h);
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 400) << "version=" << bad << ": " << res->body;
    EXPECT_TRUE(body_of(res).contains("message")) << bad;
  }
}

TEST_F(SecretsVersionsTest, RollbackMakesTheOldValueANewVersion) {
  TestUser u = register_user("rollback");
  std::string k = key("ROLLBACK_ME");
  write_versions(u, k, 3);
  auto c = client();
  auto h = auth_header(u.access_token);

  auto res = post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}}, h);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(res->get_header_value("ETag"), "\"v4\"");
  EXPECT_EQ(body_of(res).at("data").at("version"), 4);
  EXPECT_FALSE(body_of(res).at("data").contains("value"));
  EXPECT_EQ(value_of(u, "/api/secrets/" + k), k + "-v1");
  EXPECT_EQ(value_of(u, "/api/secrets/" + k + "?version=3"), k + "-v3") << "history is kept";

  auto gone = post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 42}}, h);
  ASSERT_TRUE(gone);
  EXPECT_EQ(body_of(gone), error_body(404, "Version 42 of secret \"" + k + "\" is not kept"));

  const std::string before = secrets_snapshot();
  for (const json& bad : {json{{"version", 0}}, json{{"version", "1"}}, json{{"version", 1.5}},
                          json::object(), json{{"version", nullptr}}, json{{"version", -3}}}) {
    auto r = post_json(c, "/api/secrets/" + k + "/rollback", bad, h);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << bad.dump() << ": " << r->body;
  }
  auto not_json = c.Post(("/api/secrets/" + k + "/rollback").c_str(), h, "{", "application/json");
  ASSERT_TRUE(not_json);
  EXPECT_EQ(not_json->status, 400);
  EXPECT_EQ(secrets_snapshot(), before);
}

TEST_F(SecretsVersionsTest, RollbackAfterTwelveUpdatesRespectsMaxVersions) {
  TestUser u = register_user("max versions");
  {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT secrets.use_household($1, for_session => true)", u.household_id);
    tx.exec("SELECT secrets.configure_household(max_versions => 5)");
  }
  std::string k = key("MANY_UPDATES");
  write_versions(u, k, 13);  // version 1, then 12 updates
  auto c = client();
  auto h = auth_header(u.access_token);

  json versions = body_of(c.Get(("/api/secrets/" + k + "/versions").c_str(), h)).at("data");
  ASSERT_EQ(versions.size(), 5u);
  EXPECT_EQ(versions.front().at("version"), 13);
  EXPECT_EQ(versions.back().at("version"), 9);

  auto pruned = post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 8}}, h);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(pruned->status, 404) << "version 8 fell out of the kept window";
  auto kept = post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 9}}, h);
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->status, 200) << kept->body;
  EXPECT_EQ(value_of(u, "/api/secrets/" + k), k + "-v9");
  json after = body_of(c.Get(("/api/secrets/" + k + "/versions").c_str(), h)).at("data");
  EXPECT_EQ(after.size(), 5u);
  EXPECT_EQ(after.front().at("version"), 14);
}

TEST_F(SecretsVersionsTest, IfMatchMakesWritesConditional) {
  TestUser u = register_user("if-match");
  std::string k = key("GUARDED");
  write_versions(u, k, 2);
  auto c = client();
  auto h = auth_header(u.access_token);
  const json stale = error_body(412, "Secret with key \"" + k +
                                         "\" has changed since the version in If-Match");

  // A stale If-Match on every kind of write: 412, nothing changes.
  const std::string before = secrets_snapshot();
  auto put = put_json(c, "/api/secrets/" + k, {{"value", "lost-update"}},
                      with(h, "If-Match", "\"v1\""));
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 412);
  EXPECT_EQ(body_of(put), stale);
  auto del = c.Delete(("/api/secrets/" + k).c_str(), with(h, "If-Match", "\"v1\""));
  ASSERT_TRUE(del);
  EXPECT_EQ(body_of(del), stale);
  auto rb = post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}},
                      with(h, "If-Match", "\"v7\""));
  ASSERT_TRUE(rb);
  EXPECT_EQ(body_of(rb), stale);
  EXPECT_EQ(secrets_snapshot(), before);
  EXPECT_EQ(value_of(u, "/api/secrets/" + k), k + "-v2");

  // The current ETag, as read, is accepted and moves on.
  auto got = c.Get(("/api/secrets/" + k).c_str(), h);
  std::string etag = got->get_header_value("ETag");
  ASSERT_EQ(etag, "\"v2\"");
  auto ok = put_json(c, "/api/secrets/" + k, {{"value", k + "-v3"}}, with(h, "If-Match", etag));
  ASSERT_TRUE(ok);
  ASSERT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(ok->get_header_value("ETag"), "\"v3\"");
  // The same If-Match a second time is stale: the lost update is caught.
  auto again = put_json(c, "/api/secrets/" + k, {{"value", "second-writer"}},
                        with(h, "If-Match", etag));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 412);
  EXPECT_EQ(value_of(u, "/api/secrets/" + k), k + "-v3");

  // "*" only asks that the secret exist.
  auto star = put_json(c, "/api/secrets/" + k, {{"description", "any version"}},
                       with(h, "If-Match", "*"));
  ASSERT_TRUE(star);
  EXPECT_EQ(star->status, 200) << star->body;
  auto star_missing = put_json(c, "/api/secrets/" + key("ABSENT"), {{"value", "x"}},
                               with(h, "If-Match", "*"));
  ASSERT_TRUE(star_missing);
  EXPECT_EQ(star_missing->status, 404);

  // Malformed If-Match: 400, nothing changes.
  const std::string before_bad = secrets_snapshot();
  for (const char* bad : {"v4", "W/\"v4\"", "\"v4\", \"v5\"", "\"4\"", "\"v\"", "\"v-1\"", "\"v0\"",
                          "\"v99999999999\"", "\"v1\"junk"}) {
    auto res = put_json(c, "/api/secrets/" + k, {{"value", "malformed"}}, with(h, "If-Match", bad));
    ASSERT_TRUE(res) << bad;
    EXPECT_EQ(res->status, 400) << "If-Match: " << bad << ": " << res->body;
  }
  EXPECT_EQ(secrets_snapshot(), before_bad);

  // A matching If-Match on DELETE deletes.
  auto current = c.Get(("/api/secrets/" + k).c_str(), h)->get_header_value("ETag");
  auto gone = c.Delete(("/api/secrets/" + k).c_str(), with(h, "If-Match", current));
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->status, 200) << gone->body;
}

TEST_F(SecretsVersionsTest, ADeletedSecretIsRestoredAsItWas) {
  TestUser u = register_user("restore");
  std::string k = key("RESTORE_ME");
  write_versions(u, k, 2);
  auto c = client();
  auto h = auth_header(u.access_token);

  ASSERT_EQ(c.Delete(("/api/secrets/" + k).c_str(), h)->status, 200);
  EXPECT_EQ(c.Get(("/api/secrets/" + k).c_str(), h)->status, 404);
  auto restored = c.Post(("/api/secrets/" + k + "/restore").c_str(), h, "", "application/json");
  ASSERT_TRUE(restored);
  ASSERT_EQ(restored->status, 200) << restored->body;
  EXPECT_EQ(restored->get_header_value("ETag"), "\"v2\"");
  EXPECT_EQ(value_of(u, "/api/secrets/" + k), k + "-v2");

  auto twice = c.Post(("/api/secrets/" + k + "/restore").c_str(), h, "", "application/json");
  ASSERT_TRUE(twice);
  EXPECT_EQ(body_of(twice), error_body(404, "No deleted secret with key \"" + k + "\""));

  // Past the household's retention: 410, and it stays deleted.
  {
    auto conn = superuser_db();
    pqxx::nontransaction tx(conn);
    tx.exec_params("SELECT secrets.use_household($1, for_session => true)", u.household_id);
    tx.exec("SELECT secrets.configure_household(delete_retention => interval '1 second')");
  }
  ASSERT_EQ(c.Delete(("/api/secrets/" + k).c_str(), h)->status, 200);
  // Wait for the condition restore_secret() checks, on the database's own
  // clock (deleted_at + retention < now()), not for a guessed interval.
  {
    auto conn = superuser_db();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    for (;;) {
      pqxx::nontransaction tx(conn);
      const bool expired = tx.exec_params1(
          "SELECT deleted_at + interval '1 second' < now() FROM secrets.secrets"
          " WHERE household_id = $1 AND key = $2 AND deleted_at IS NOT NULL",
          u.household_id, k)[0].as<bool>();
      if (expired) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the deletion never got older than 1 s";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  auto late = c.Post(("/api/secrets/" + k + "/restore").c_str(), h, "", "application/json");
  ASSERT_TRUE(late);
  EXPECT_EQ(late->status, 410) << late->body;
  EXPECT_EQ(c.Get(("/api/secrets/" + k).c_str(), h)->status, 404);
}

TEST_F(SecretsVersionsTest, OtherHouseholdsAndOtherNodesGetNothing) {
  TestUser owner = register_user("versions owner");
  TestUser stranger = register_user("versions stranger");
  std::string k = key("PRIVATE_HISTORY");
  write_versions(owner, k, 2);
  auto c = client();
  auto hs = auth_header(stranger.access_token);
  const json not_found = error_body(404, "Secret with key \"" + k + "\" not found");

  const std::string before = secrets_snapshot();
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + k + "/versions").c_str(), hs)), not_found);
  EXPECT_EQ(c.Get(("/api/secrets/" + k + "?version=1").c_str(), hs)->status, 404);
  EXPECT_EQ(post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}}, hs)->status, 404);
  EXPECT_EQ(post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}},
                      with(hs, "If-Match", "\"v2\""))->status,
            412)
      << "in the stranger's household the secret does not exist (version 0)";
  EXPECT_EQ(secrets_snapshot(), before);

  // Nodes: one node's secret history is not another's, and a node rolls
  // back only its own node secrets.
  NodeCredentials n1 = create_node(owner.household_id);
  NodeCredentials n2 = create_node(owner.household_id);
  std::string own = key("NODE_SECRET");
  auto h1 = node_headers(n1.node_id, n1.api_key);
  auto h2 = node_headers(n2.node_id, n2.api_key);
  ASSERT_EQ(post_json(c, "/api/secrets", {{"key", own}, {"value", "n1-a"}, {"scope", "node"}}, h1)->status,
            200);
  ASSERT_EQ(put_json(c, "/api/secrets/" + own + "?scope=node", {{"value", "n1-b"}}, h1)->status, 200);
  auto mine = c.Get(("/api/secrets/" + own + "/versions?scope=node").c_str(), h1);
  ASSERT_EQ(mine->status, 200) << mine->body;
  EXPECT_EQ(body_of(mine).at("data").size(), 2u);
  auto theirs = c.Get(("/api/secrets/" + own + "/versions?scope=node&node_id=" + n1.node_id).c_str(), h2);
  EXPECT_EQ(theirs->status, 404);
  auto rb_other = post_json(c, "/api/secrets/" + own + "/rollback",
                            {{"version", 1}, {"scope", "node"}, {"node_id", n1.node_id}}, h2);
  EXPECT_EQ(rb_other->status, 403);
  auto rb_own = post_json(c, "/api/secrets/" + own + "/rollback", {{"version", 1}, {"scope", "node"}}, h1);
  ASSERT_EQ(rb_own->status, 200) << rb_own->body;
  EXPECT_EQ(body_of(c.Get(("/api/secrets/" + own + "?scope=node").c_str(), h1)).at("data").at("value"),
            "n1-a");
}

TEST_F(SecretsVersionsTest, OldValuesNeverReachTheOutput) {
  TestUser u = register_user("versions canary");
  std::string k = key("CANARY_HISTORY");
  const std::string canary = "versions-canary-" + unique_suffix();
  auto c = client();
  auto h = auth_header(u.access_token);
  ASSERT_EQ(post_json(c, "/api/secrets", {{"key", k}, {"value", canary}}, h)->status, 200);
  ASSERT_EQ(put_json(c, "/api/secrets/" + k, {{"value", "newer"}}, h)->status, 200);
  ASSERT_EQ(c.Get(("/api/secrets/" + k + "?version=1").c_str(), h)->status, 200);
  ASSERT_EQ(post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}}, h)->status, 200);
  ASSERT_EQ(c.Get(("/api/secrets/" + k + "/versions").c_str(), h)->status, 200);
  // Control: a marker in a request path reaches the access log, so the same
  // search over the same output must find it.
  const std::string control = key("CONTROL_MARKER");
  c.Get(("/api/secrets/" + control).c_str(), h);
  std::string out = secretsd_output();
  EXPECT_NE(out.find(control), std::string::npos) << "the search cannot see secretsd's output";
  EXPECT_EQ(out.find(canary), std::string::npos);
}

}  // namespace
}  // namespace secretsd::it
