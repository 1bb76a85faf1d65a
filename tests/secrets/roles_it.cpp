// Household roles decide what a person's requests may do to secrets
// (issue 22): the extension refuses (SE009 -> 403), and a statement acting
// for a person reads their membership's role inside itself, locked when it
// writes, so a demotion that committed is never overtaken by the role the
// request was authenticated with.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::post_json;
using secrets_api::put_json;
using secrets_api::unique_key;
using namespace std::chrono_literals;

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

class RolesTest : public SecretsdTest {};

TEST_F(RolesTest, AReaderReadsButGets403OnEveryWrite) {
  TestUser owner = register_user();
  TestUser reader = register_invited_user(owner, "reader");
  const std::string key = unique_key("READ_ONLY");
  auto c = client();
  ASSERT_EQ(status_of(post_json(c, "/api/secrets", {{"key", key}, {"value", "v1"}}, auth_header(owner.access_token))),
            200);
  const auto h = auth_header(reader.access_token);
  auto read = c.Get(("/api/secrets/" + key).c_str(), h);
  ASSERT_EQ(status_of(read), 200);
  EXPECT_EQ(body_of(read)["data"]["value"], "v1");

  const std::string before = secrets_api::secrets_snapshot();
  auto create = post_json(c, "/api/secrets", {{"key", unique_key("NEW")}, {"value", "x"}}, h);
  EXPECT_EQ(status_of(create), 403);
  EXPECT_EQ(body_of(create)["message"], "Your role in this household does not allow this");
  EXPECT_EQ(status_of(put_json(c, "/api/secrets/" + key, {{"value", "v2"}}, h)), 403);
  EXPECT_EQ(status_of(c.Delete(("/api/secrets/" + key).c_str(), h)), 403);
  EXPECT_EQ(secrets_api::secrets_snapshot(), before) << "a refused write changed a secret";
}

TEST_F(RolesTest, AWriterWritesAndAnAuditorSeesNoValue) {
  TestUser owner = register_user();
  TestUser writer = register_invited_user(owner, "writer");
  TestUser auditor = register_invited_user(owner, "auditor");
  const std::string key = unique_key("WRITTEN");
  auto c = client();
  ASSERT_EQ(status_of(post_json(c, "/api/secrets", {{"key", key}, {"value", "w"}}, auth_header(writer.access_token))),
            200);
  EXPECT_EQ(status_of(c.Get(("/api/secrets/" + key).c_str(), auth_header(auditor.access_token))), 403);
  EXPECT_EQ(status_of(post_json(c, "/api/secrets", {{"key", unique_key("NOPE")}, {"value", "x"}},
                                auth_header(auditor.access_token))),
            403);
}

// A person removed from the household between authentication and the
// statement: the statement finds no membership and refuses.
TEST_F(RolesTest, AStatementForAFormerMemberIsRefused) {
  TestUser owner = register_user();
  TestUser writer = register_invited_user(owner, "writer");
  auto c = client();
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    tx.exec_params("DELETE FROM secretsd.memberships WHERE user_id = $1::uuid", writer.id);
  }
  // The session is still live (removed by hand, not through the route), and
  // the household is the token's: authentication may still cache the role.
  auto res = post_json(c, "/api/secrets", {{"key", unique_key("GONE")}, {"value", "x"}},
                       auth_header(writer.access_token));
  EXPECT_EQ(status_of(res), 403);
}

// The race: a demotion to reader is committing while a write acting for the
// writer runs. The write must wait for it and then be refused; without the
// locked re-read it would write with the role it read before the commit.
TEST_F(RolesTest, ADemotionThatCommittedIsNeverOvertakenByTheOldRole) {
  TestUser owner = register_user();
  TestUser writer = register_invited_user(owner, "writer");
  const std::string key = unique_key("RACED");
  auto c = client();
  // Authenticated as writer, cached: the request reaches its statement.
  ASSERT_EQ(status_of(post_json(c, "/api/secrets", {{"key", unique_key("WARM")}, {"value", "x"}},
                                auth_header(writer.access_token))),
            200);

  auto demoter_db = superuser_db();
  pqxx::work demotion(demoter_db);
  demotion.exec_params("UPDATE secretsd.memberships SET role = 'reader'"
                       " WHERE user_id = $1::uuid AND household_id = $2::uuid",
                       writer.id, owner.household_id);

  int write_status = 0;
  std::thread writer_thread([&] {
    auto wc = client();
    wc.set_read_timeout(30, 0);
    write_status = status_of(post_json(wc, "/api/secrets", {{"key", key}, {"value", "late"}},
                                       auth_header(writer.access_token)));
  });
  // The write must be waiting on the membership row, not done already.
  bool waiting = false;
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    for (int i = 0; i < 1000 && !waiting; ++i) {  // up to 20 s on a slow machine
      waiting = tx.exec1("SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                         " AND query LIKE '%secretsd.context_role%'")[0]
                    .as<bool>();
      if (!waiting) std::this_thread::sleep_for(20ms);
    }
  }
  EXPECT_TRUE(waiting) << "the write did not wait for the demotion";
  demotion.commit();
  writer_thread.join();
  EXPECT_EQ(write_status, 403);
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secrets.secrets WHERE key = $1", key)[0].as<int>(), 0)
      << "the write went through with the old role";
}

}  // namespace
}  // namespace secretsd::it
