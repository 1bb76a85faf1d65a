// People in several households (issue 22): the household a request acts
// for (X-Household-Id, else the token's hid, always a membership), the
// caller's memberships, and the member rules of migrations/0012 (owners and
// admins manage members; admins neither touch owners nor make them; the last
// owner stays; non-members get 404).
#include <string>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::post_json;

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

std::string members_path(const std::string& household) {
  return "/api/v0/households/" + household + "/members";
}
std::string member_path(const std::string& household, const std::string& user) {
  return members_path(household) + "/" + user;
}

httplib::Result patch_role(httplib::Client& c, const std::string& household, const std::string& user,
                           const std::string& role, const TestUser& as) {
  return c.Patch(member_path(household, user).c_str(), auth_header(as.access_token),
                 json{{"role", role}}.dump(), "application/json");
}

httplib::Headers acting_for(const TestUser& user, const std::string& household) {
  auto h = auth_header(user.access_token);
  h.emplace("X-Household-Id", household);
  return h;
}

// Makes `user` a member of `household` with `role`, as an accepted invite
// of an existing person would (no REST route accepts one yet).
void add_membership(const TestUser& user, const std::string& household, const std::string& role) {
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  tx.exec_params("INSERT INTO secretsd.memberships (user_id, household_id, role) VALUES ($1::uuid, $2::uuid, $3)",
                 user.id, household, role);
}

std::string role_of(const TestUser& user, const std::string& household) {
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  auto r = tx.exec_params("SELECT role FROM secretsd.memberships WHERE user_id = $1::uuid AND household_id = $2::uuid",
                          user.id, household);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

class MembersTest : public SecretsdTest {};

TEST_F(MembersTest, ARequestPicksAHouseholdItIsAMemberOf) {
  TestUser alice = register_user("Alice's");
  TestUser bob = register_user("Bob's");
  add_membership(alice, bob.household_id, "reader");
  const std::string key = secrets_api::unique_key("PICKED");
  auto c = client();
  ASSERT_EQ(status_of(post_json(c, "/api/secrets", {{"key", key}, {"value", "in-bobs"}},
                                auth_header(bob.access_token))),
            200);

  // Without the header: the token's household (Alice's), where it is absent.
  EXPECT_EQ(status_of(c.Get(("/api/secrets/" + key).c_str(), auth_header(alice.access_token))), 404);
  auto read = c.Get(("/api/secrets/" + key).c_str(), acting_for(alice, bob.household_id));
  ASSERT_EQ(status_of(read), 200);
  EXPECT_EQ(body_of(read)["data"]["value"], "in-bobs");

  // A household Alice is not in, one that does not exist, or no uuid: the same 403.
  TestUser carol = register_user("Carol's");
  for (const std::string& other : {carol.household_id, std::string("00000000-0000-0000-0000-000000000000"),
                                   std::string("not-a-uuid")}) {
    auto res = c.Get("/api/secrets", acting_for(alice, other));
    EXPECT_EQ(status_of(res), 403) << other;
    EXPECT_EQ(body_of(res)["message"], "You are not a member of that household") << other;
  }

  auto mine = c.Get("/api/v0/households", auth_header(alice.access_token));
  ASSERT_EQ(status_of(mine), 200);
  const json households = body_of(mine)["households"];
  ASSERT_EQ(households.size(), 2u);
  EXPECT_EQ(households[0]["id"], alice.household_id);
  EXPECT_EQ(households[0]["role"], "owner");
  EXPECT_EQ(households[0]["name"], "Alice's");
  EXPECT_EQ(households[1]["id"], bob.household_id);
  EXPECT_EQ(households[1]["role"], "reader");
}

TEST_F(MembersTest, OwnersAndAdminsListMembersOthersCannot) {
  TestUser owner = register_user();
  TestUser admin = register_invited_user(owner, "admin");
  TestUser writer = register_invited_user(owner, "writer");
  TestUser stranger = register_user();
  auto c = client();
  for (const TestUser* manager : {&owner, &admin}) {
    auto res = c.Get(members_path(owner.household_id).c_str(), auth_header(manager->access_token));
    ASSERT_EQ(status_of(res), 200);
    const json members = body_of(res)["members"];
    ASSERT_EQ(members.size(), 3u);
    EXPECT_EQ(members[0]["user_id"], owner.id);
    EXPECT_EQ(members[0]["role"], "owner");
    EXPECT_EQ(members[1]["role"], "admin");
    EXPECT_EQ(members[2]["role"], "writer");
    EXPECT_EQ(members[2]["email"], writer.email);
  }
  EXPECT_EQ(status_of(c.Get(members_path(owner.household_id).c_str(), auth_header(writer.access_token))), 403);
  // Not a member: the household does not exist as far as the caller can tell.
  EXPECT_EQ(status_of(c.Get(members_path(owner.household_id).c_str(), auth_header(stranger.access_token))), 404);
  EXPECT_EQ(status_of(c.Get(members_path("00000000-0000-0000-0000-000000000000").c_str(),
                            auth_header(stranger.access_token))),
            404);
  EXPECT_EQ(status_of(c.Get(members_path("nope").c_str(), auth_header(owner.access_token))), 404);
}

TEST_F(MembersTest, AdminsManageNonOwnersOnly) {
  TestUser owner = register_user();
  TestUser admin = register_invited_user(owner, "admin");
  TestUser writer = register_invited_user(owner, "writer");
  auto c = client();
  const std::string h = owner.household_id;

  auto changed = patch_role(c, h, writer.id, "reader", admin);
  ASSERT_EQ(status_of(changed), 200);
  EXPECT_EQ(body_of(changed), json({{"user_id", writer.id}, {"household_id", h}, {"role", "reader"}}));
  EXPECT_EQ(role_of(writer, h), "reader");

  EXPECT_EQ(status_of(patch_role(c, h, owner.id, "admin", admin)), 403) << "an admin demoting an owner";
  EXPECT_EQ(status_of(patch_role(c, h, writer.id, "owner", admin)), 403) << "an admin making an owner";
  EXPECT_EQ(status_of(c.Delete(member_path(h, owner.id).c_str(), auth_header(admin.access_token))), 403);
  EXPECT_EQ(role_of(owner, h), "owner");
  EXPECT_EQ(status_of(patch_role(c, h, admin.id, "owner", writer)), 403) << "a reader managing members";
  EXPECT_EQ(status_of(patch_role(c, h, writer.id, "member", owner)), 400) << "not a role";
  EXPECT_EQ(status_of(patch_role(c, h, "00000000-0000-0000-0000-000000000000", "reader", owner)), 404);

  EXPECT_EQ(status_of(c.Delete(member_path(h, writer.id).c_str(), auth_header(admin.access_token))), 204);
  EXPECT_EQ(role_of(writer, h), "");
  EXPECT_EQ(status_of(c.Delete(member_path(h, writer.id).c_str(), auth_header(admin.access_token))), 404);
}

TEST_F(MembersTest, TheLastOwnerStays) {
  TestUser owner = register_user();
  TestUser second = register_invited_user(owner, "admin");
  auto c = client();
  const std::string h = owner.household_id;
  auto refused = patch_role(c, h, owner.id, "admin", owner);
  EXPECT_EQ(status_of(refused), 409);
  EXPECT_EQ(body_of(refused)["message"], "A household keeps at least one owner");
  EXPECT_EQ(status_of(c.Delete(member_path(h, owner.id).c_str(), auth_header(owner.access_token))), 409);
  EXPECT_EQ(role_of(owner, h), "owner");

  // With a second owner, the first may step down.
  ASSERT_EQ(status_of(patch_role(c, h, second.id, "owner", owner)), 200);
  EXPECT_EQ(status_of(patch_role(c, h, owner.id, "writer", owner)), 200);
  EXPECT_EQ(role_of(owner, h), "writer");
  EXPECT_EQ(status_of(c.Delete(member_path(h, second.id).c_str(), auth_header(second.access_token))), 409)
      << "now the second is the last owner";
}

TEST_F(MembersTest, InvitesCarryARoleUpToAdmin) {
  TestUser owner = register_user();
  TestUser admin = register_invited_user(owner, "admin");
  TestUser writer = register_invited_user(owner, "writer");
  auto c = client();
  auto by_admin = post_json(c, "/api/v0/households/invites", {{"role", "admin"}}, auth_header(admin.access_token));
  ASSERT_EQ(status_of(by_admin), 201);
  EXPECT_EQ(body_of(by_admin)["role"], "admin");
  EXPECT_EQ(status_of(post_json(c, "/api/v0/households/invites", {{"role", "owner"}},
                                auth_header(owner.access_token))),
            400);
  EXPECT_EQ(status_of(post_json(c, "/api/v0/households/invites", json::object(),
                                auth_header(writer.access_token))),
            403);
  TestUser auditor = register_invited_user(owner, "auditor");
  EXPECT_EQ(role_of(auditor, owner.household_id), "auditor");
  // Invites go to the household the request acts for.
  TestUser other = register_user();
  add_membership(other, owner.household_id, "admin");
  auto h = auth_header(other.access_token);
  h.emplace("X-Household-Id", owner.household_id);
  auto invite = post_json(c, "/api/v0/households/invites", json::object(), h);
  ASSERT_EQ(status_of(invite), 201);
  EXPECT_EQ(body_of(invite)["household_id"], owner.household_id);
}

}  // namespace
}  // namespace secretsd::it
