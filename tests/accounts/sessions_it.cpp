// Sessions that end (issue 22): an access token carries its session (sid),
// and the session is checked against PostgreSQL at most a second ago. Logout
// (with either token), a password change, a member's removal and DELETE
// /api/v0/auth/sessions/{id} make the access token fail at once on the
// instance that ended the session, and within the cache's second on
// another instance sharing the database. Credentials are never printed.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

httplib::Result post(httplib::Client& c, const std::string& path, const json& body,
                     const httplib::Headers& headers = {}) {
  return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

// GET /api/v0/auth/sessions, as the token's user: a request whose answer
// depends only on the session being live.
int probe(httplib::Client& c, const std::string& access_token) {
  return status_of(c.Get("/api/v0/auth/sessions", auth_header(access_token)));
}

// The second instance may trust its check for up to a second: the token
// must fail there within that second (and a little scheduling slack).
void expect_fails_within_a_second(httplib::Client& c, const std::string& access_token) {
  const auto deadline = std::chrono::steady_clock::now() + 1500ms;
  int status = 0;
  while ((status = probe(c, access_token)) == 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(status, 401) << "still accepted 1.5 s after the session ended";
}

class SessionsTest : public SecretsdTest {
 public:
  // A second secretsd sharing the database, started once for the binary.
  static SecretsdProcess& other() {
    static std::unique_ptr<SecretsdProcess> instance = SecretsdProcess::start();
    return *instance;
  }
};

// Each way of ending a session, checked the same way: the token works on
// both instances (both have cached it), the session ends on the shared
// instance, the token fails there at once and on the other within 1 s.
template <typename EndSession>
void expect_ended_everywhere(SecretsdProcess& other,
                             const std::string& access_token, EndSession&& end_session) {
  auto here = client();
  auto there = other.client();
  ASSERT_EQ(probe(here, access_token), 200);
  ASSERT_EQ(probe(there, access_token), 200);
  end_session();
  EXPECT_EQ(probe(here, access_token), 401) << "accepted on the instance that ended the session";
  expect_fails_within_a_second(there, access_token);
}

TEST_F(SessionsTest, LogoutWithTheAccessTokenEndsTheSessionAtOnce) {
  TestUser user = register_user();
  expect_ended_everywhere(SessionsTest::other(), user.access_token, [&] {
    auto c = client();
    EXPECT_EQ(status_of(post(c, "/api/v0/auth/logout", json::object(), auth_header(user.access_token))),
              204);
  });
  auto c = client();
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}})), 401)
      << "the session's refresh token ended with it";
}

TEST_F(SessionsTest, LogoutWithTheRefreshTokenEndsTheSessionAtOnce) {
  TestUser user = register_user();
  expect_ended_everywhere(SessionsTest::other(), user.access_token, [&] {
    auto c = client();
    EXPECT_EQ(status_of(post(c, "/api/v0/auth/logout", {{"refresh_token", user.refresh_token}})), 204);
  });
}

TEST_F(SessionsTest, PasswordChangeEndsEverySessionAndReturnsAFreshPair) {
  TestUser user = register_user();
  TestUser elsewhere = login(user);
  auto c = client();
  auto wrong = post(c, "/api/v0/auth/password", {{"current_password", "not-the-password"},
                                                 {"new_password", "Quartz lantern 9 drifts north"}},
                    auth_header(user.access_token));
  EXPECT_EQ(status_of(wrong), 403);
  EXPECT_EQ(probe(c, user.access_token), 200) << "a refused change ends nothing";

  json fresh;
  expect_ended_everywhere(SessionsTest::other(), user.access_token, [&] {
    auto res = post(c, "/api/v0/auth/password",
                    {{"current_password", user.password}, {"new_password", "Quartz lantern 9 drifts north"}},
                    auth_header(user.access_token));
    ASSERT_EQ(status_of(res), 200);
    fresh = body_of(res);
  });
  EXPECT_EQ(probe(c, elsewhere.access_token), 401) << "every session ends, not only the caller's";
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", elsewhere.refresh_token}})), 401);
  ASSERT_TRUE(fresh.contains("access_token"));
  EXPECT_EQ(probe(c, fresh["access_token"].get<std::string>()), 200);
  EXPECT_NE(fresh["session_id"], user.session_id);
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", user.password}})),
            401);
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/login",
                           {{"email", user.email}, {"password", "Quartz lantern 9 drifts north"}})),
            200);
}

TEST_F(SessionsTest, ListsOwnSessionsAndEndsOneOfThem) {
  TestUser user = register_user();
  TestUser phone = login(user);
  TestUser stranger = register_user();
  auto c = client();
  auto listed = c.Get("/api/v0/auth/sessions", auth_header(user.access_token));
  ASSERT_EQ(status_of(listed), 200);
  const json sessions = body_of(listed)["sessions"];
  ASSERT_EQ(sessions.size(), 2u);
  int current = 0;
  for (const auto& s : sessions) {
    EXPECT_TRUE(s["id"] == user.session_id || s["id"] == phone.session_id);
    EXPECT_EQ(s["current"], s["id"] == user.session_id);
    current += s["current"].get<bool>() ? 1 : 0;
    EXPECT_EQ(s["address"], "127.0.0.1");
    EXPECT_TRUE(s["user_agent"].is_string());
    EXPECT_TRUE(s["created_at"].is_string() && s["last_used_at"].is_string());
  }
  EXPECT_EQ(current, 1);

  // Another person's session, or none at all: the same 404.
  EXPECT_EQ(status_of(c.Delete(("/api/v0/auth/sessions/" + phone.session_id).c_str(),
                               auth_header(stranger.access_token))),
            404);
  EXPECT_EQ(probe(c, phone.access_token), 200);
  EXPECT_EQ(status_of(c.Delete("/api/v0/auth/sessions/00000000-0000-0000-0000-000000000000",
                               auth_header(user.access_token))),
            404);
  EXPECT_EQ(status_of(c.Delete("/api/v0/auth/sessions/not-a-uuid", auth_header(user.access_token))), 404);

  expect_ended_everywhere(SessionsTest::other(), phone.access_token, [&] {
    EXPECT_EQ(status_of(c.Delete(("/api/v0/auth/sessions/" + phone.session_id).c_str(),
                                 auth_header(user.access_token))),
              204);
  });
  EXPECT_EQ(probe(c, user.access_token), 200) << "only that session ended";
  auto after = body_of(c.Get("/api/v0/auth/sessions", auth_header(user.access_token)))["sessions"];
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0]["id"], user.session_id);
}

TEST_F(SessionsTest, RemovingAMemberEndsTheirSessionsAtOnce) {
  TestUser owner = register_user();
  TestUser member = register_invited_user(owner, "writer");
  expect_ended_everywhere(SessionsTest::other(), member.access_token, [&] {
    auto c = client();
    EXPECT_EQ(status_of(c.Delete(("/api/v0/households/" + owner.household_id + "/members/" + member.id).c_str(),
                                 auth_header(owner.access_token))),
              204);
  });
  auto c = client();
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", member.refresh_token}})), 401);
}

TEST_F(SessionsTest, ADisabledUsersTokenFailsWithinASecond) {
  TestUser user = register_user();
  auto c = client();
  ASSERT_EQ(probe(c, user.access_token), 200);
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    tx.exec_params("UPDATE secretsd.users SET disabled_at = now() WHERE id = $1::uuid", user.id);
  }
  expect_fails_within_a_second(c, user.access_token);
}

TEST_F(SessionsTest, LastUsedIsKeptToTheMinute) {
  TestUser user = register_user();
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    tx.exec_params("UPDATE secretsd.sessions SET last_used_at = now() - interval '2 minutes'"
                   " WHERE id = $1::uuid", user.session_id);
  }
  auto c = client();
  std::this_thread::sleep_for(1100ms);  // past any cached check of the session
  ASSERT_EQ(probe(c, user.access_token), 200);
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_TRUE(tx.exec_params1("SELECT last_used_at > now() - interval '30 seconds'"
                              " FROM secretsd.sessions WHERE id = $1::uuid", user.session_id)[0]
                  .as<bool>());
}

}  // namespace
}  // namespace secretsd::it
