// End-to-end tests of secretsd's auth endpoints against a real PostgreSQL.
// Credentials are never printed: assertions compare them without streaming
// their values (EXPECT_TRUE on comparisons, not EXPECT_EQ on secrets).
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "crypto/jwt.h"
#include "crypto/keyed_hash.h"
#include "harness.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

httplib::Result post(httplib::Client& c, const std::string& path, const json& body,
                     const httplib::Headers& headers = {}) {
  return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

httplib::Result post_raw(httplib::Client& c, const std::string& path, const std::string& body,
                         const httplib::Headers& headers = {}) {
  return c.Post(path.c_str(), headers, body, "application/json");
}

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

// The documented error shape, with an exact message when one is given.
void expect_error(const httplib::Result& res, int status, const std::string& message = "") {
  ASSERT_TRUE(res) << "no response";
  EXPECT_EQ(res->status, status);
  auto body = body_of(res);
  ASSERT_TRUE(body.is_object());
  EXPECT_EQ(body.value("statusCode", 0), status);
  ASSERT_TRUE(body.contains("message") && body["message"].is_string());
  if (!message.empty()) {
    EXPECT_EQ(body["message"].get<std::string>(), message);
  }
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}


class AuthTest : public SecretsdTest {};

// Stored hashed means exactly one row holds the keyed hash of the secret
// and no row of the table holds the secret itself, in any column.
void expect_stored_hashed(pqxx::nontransaction& tx, const std::string& table, const std::string& column,
                          const std::string& secret) {
  const std::string expected = keyed_hash(secret, derive_subkey(auth_secret_key(), "credential-pepper"));
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secretsd." + table + " WHERE " + column + " = $1", expected)[0]
                .as<int>(),
            1)
      << table << "." << column << " holds the keyed hash";
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secretsd." + table + " t WHERE strpos(row_to_json(t)::text, $1) > 0",
                            secret)[0]
                .as<int>(),
            0)
      << "no row of " << table << " holds the secret in clear";
}

// ---- health and readiness -------------------------------------------------------------

TEST_F(AuthTest, HealthAndReady) {
  auto c = client();
  auto health = c.Get("/health");
  ASSERT_EQ(status_of(health), 200);
  EXPECT_EQ(body_of(health)["status"], "ok");
  auto ready = c.Get("/ready");
  ASSERT_EQ(status_of(ready), 200);
  EXPECT_EQ(body_of(ready)["status"], "ready");
}

// ---- process start-up -----------------------------------------------------------------

TEST_F(AuthTest, MigrateSubcommandAppliesAndExits) {
  std::string output;
  EXPECT_EQ(SecretsdProcess::run_to_completion({"migrate"}, {}, &output), 0);
  EXPECT_NE(output.find("migrations:"), std::string::npos);
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_GE(tx.exec1("SELECT count(*) FROM secretsd.schema_migrations")[0].as<int>(), 1);
}

TEST_F(AuthTest, RefusesToStartWithoutAStrongAuthKey) {
  std::string output;
  EXPECT_EQ(SecretsdProcess::run_to_completion({}, {{"AUTH_SECRET_KEY", ""}}, &output), 2);
  EXPECT_NE(output.find("AUTH_SECRET_KEY"), std::string::npos);
  EXPECT_EQ(SecretsdProcess::run_to_completion({}, {{"AUTH_SECRET_KEY", "short"}}), 2);
  const std::string placeholder = "changeme-changeme-changeme-changeme-changeme";
  EXPECT_EQ(SecretsdProcess::run_to_completion({}, {{"AUTH_SECRET_KEY", placeholder}}, &output), 2);
  EXPECT_EQ(output.find(placeholder), std::string::npos) << "the rejected value was echoed";
}

TEST_F(AuthTest, StopsGracefullyOnSigterm) {
  auto process = SecretsdProcess::start();
  EXPECT_EQ(process->stop(), 0);
  EXPECT_NE(process->output().find("secretsd: stopped"), std::string::npos);
}

TEST_F(AuthTest, UnknownSubcommandIsAUsageError) {
  EXPECT_EQ(SecretsdProcess::run_to_completion({"bogus"}), 2);
}

// ---- register ---------------------------------------------------------------------------

TEST_F(AuthTest, RegisterCreatesOwnerOfANewHousehold) {
  auto c = client();
  const std::string email = "Owner-" + unique_suffix() + "@Example.test";
  const std::string password = "Cobalt ferret jumps 88 meadow";
  auto res = post(c, "/api/v0/auth/register",
                  {{"email", email}, {"password", password}, {"household_name", "Home"}});
  ASSERT_EQ(status_of(res), 202);
  EXPECT_FALSE(body_of(res).contains("access_token")) << "registration hands out no tokens";
  EXPECT_EQ(res->body.find(password), std::string::npos);
  // The person signs in afterwards.
  auto login = post(c, "/api/v0/auth/login", {{"email", email}, {"password", password}});
  ASSERT_EQ(status_of(login), 200);
  auto body = body_of(login);
  for (const char* field : {"user_id", "household_id", "access_token", "refresh_token", "role"}) {
    ASSERT_TRUE(body.contains(field) && body[field].is_string()) << field;
  }
  EXPECT_EQ(body["role"], "owner");
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["expires_in"], 15 * 60);

  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  auto row = tx.exec_params1("SELECT password_hash, (SELECT name FROM secretsd.households h "
                             "WHERE h.id = u.household_id) FROM secretsd.users u WHERE id = $1",
                             body["user_id"].get<std::string>());
  EXPECT_EQ(row[0].as<std::string>().rfind("$argon2id$", 0), 0u);
  EXPECT_EQ(row[1].as<std::string>(), "Home");
  expect_stored_hashed(tx, "refresh_tokens", "token_hash", body["refresh_token"].get<std::string>());
}

// Enumeration-safe: a taken email (in any case) gets the very answer a new
// one gets; the account's owner learns of the attempt from an account event.
TEST_F(AuthTest, RegisterTakenEmailAnswersLikeANewOneAndTellsTheOwner) {
  TestUser user = register_user();
  auto c = client();
  std::string upper = user.email;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto taken = post(c, "/api/v0/auth/register",
                    {{"email", upper}, {"password", "Another quiet walrus 42"}, {"household_name", "X"}});
  auto fresh = post(c, "/api/v0/auth/register",
                    {{"email", "new-" + unique_suffix() + "@example.test"},
                     {"password", "Another quiet walrus 42"},
                     {"household_name", "X"}});
  ASSERT_EQ(status_of(taken), 202);
  ASSERT_EQ(status_of(fresh), 202);
  EXPECT_EQ(taken->body, fresh->body);
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secretsd.account_events "
                            "WHERE user_id = $1 AND kind = 'registration_attempt'",
                            user.id)[0]
                .as<int>(),
            1);
  // The taken account's password is unchanged.
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", user.password}})),
            200);
}

TEST_F(AuthTest, WeakPasswordIsRefusedWithItsReason) {
  auto c = client();
  const std::string email = "weak-" + unique_suffix() + "@example.test";
  auto common = post(c, "/api/v0/auth/register",
                     {{"email", email}, {"password", "password1234"}, {"household_name", "H"}});
  ASSERT_EQ(status_of(common), 400);
  EXPECT_EQ(body_of(common)["message"].get<std::string>().rfind("Password refused: too ", 0), 0u)
      << common->body;
  EXPECT_EQ(common->body.find("password1234"), std::string::npos);
  auto short_pw = post(c, "/api/v0/auth/register",
                       {{"email", email}, {"password", "Xq7#pL2v"}, {"household_name", "H"}});
  expect_error(short_pw, 400, "Password refused: too short: use at least 12 characters");
  TestUser user = register_user();
  auto change = post(c, "/api/v0/auth/password",
                     {{"current_password", user.password}, {"new_password", "qwertyuiop12"}},
                     auth_header(user.access_token));
  ASSERT_EQ(status_of(change), 400);
  EXPECT_EQ(body_of(change)["message"].get<std::string>().rfind("Password refused: too ", 0), 0u)
      << change->body;
}

TEST_F(AuthTest, RegisterValidatesItsBody) {
  auto c = client();
  const std::string email = "v-" + unique_suffix() + "@example.test";
  expect_error(post_raw(c, "/api/v0/auth/register", "{not json"), 400, "Invalid JSON body");
  expect_error(post_raw(c, "/api/v0/auth/register", "[1,2]"), 400, "Invalid JSON body");
  expect_error(post(c, "/api/v0/auth/register", {{"password", "Longenough tundra 77"}, {"household_name", "H"}}),
               400, "email is required");
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", email}, {"password", 12345678}, {"household_name", "H"}}),
               400, "password must be a string");
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", "not-an-email"}, {"password", "Longenough tundra 77"}, {"household_name", "H"}}),
               400, "Invalid email address");
  auto short_pw = post(c, "/api/v0/auth/register",
                       {{"email", email}, {"password", "short7!"}, {"household_name", "H"}});
  expect_error(short_pw, 400, "Password refused: too short: use at least 12 characters");
  EXPECT_EQ(short_pw->body.find("short7!"), std::string::npos);
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", email}, {"password", std::string(1025, 'p')}, {"household_name", "H"}}),
               400, "Password refused: too long: use at most 1024 characters");
  expect_error(post(c, "/api/v0/auth/register", {{"email", email}, {"password", "Longenough tundra 77"}}), 400,
               "Provide exactly one of household_name or invite_code");
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", email},
                     {"password", "Longenough tundra 77"},
                     {"household_name", "H"},
                     {"invite_code", "abc"}}),
               400, "Provide exactly one of household_name or invite_code");
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", email}, {"password", "Longenough tundra 77"}, {"household_name", 7}}),
               400, "household_name must be a string");
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", email}, {"password", "Longenough tundra 77"}, {"invite_code", "no-such-code"}}),
               400, "Invalid or expired invite code");
}

// ---- invites ----------------------------------------------------------------------------

TEST_F(AuthTest, InviteJoinsTheInvitersHouseholdOnce) {
  TestUser owner = register_user();
  auto c = client();
  auto invite = post(c, "/api/v0/households/invites", json::object(), auth_header(owner.access_token));
  ASSERT_EQ(status_of(invite), 201);
  auto inv = body_of(invite);
  EXPECT_EQ(inv["household_id"], owner.household_id);
  EXPECT_EQ(inv["role"], "reader");  // least privilege unless named
  EXPECT_TRUE(inv["expires_at"].is_string());
  const std::string code = inv["invite_code"].get<std::string>();

  const std::string email = "joiner-" + unique_suffix() + "@example.test";
  auto joined = post(c, "/api/v0/auth/register",
                     {{"email", email}, {"password", "joiner tundra 77 pass"}, {"invite_code", code}});
  ASSERT_EQ(status_of(joined), 202);
  auto signed_in = post(c, "/api/v0/auth/login", {{"email", email}, {"password", "joiner tundra 77 pass"}});
  ASSERT_EQ(status_of(signed_in), 200);
  EXPECT_EQ(body_of(signed_in)["household_id"], owner.household_id);
  EXPECT_EQ(body_of(signed_in)["role"], "reader");

  auto again = post(c, "/api/v0/auth/register",
                    {{"email", "again-" + email}, {"password", "joiner tundra 77 pass"}, {"invite_code", code}});
  expect_error(again, 400, "Invalid or expired invite code");

  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  expect_stored_hashed(tx, "invites", "code_hash", code);
}

TEST_F(AuthTest, InviteNeedsAnOwnerOrAdmin) {
  TestUser owner = register_user();
  TestUser member = register_invited_user(owner, "writer");
  TestUser admin = register_invited_user(owner, "admin");
  auto c = client();
  expect_error(post(c, "/api/v0/households/invites", json::object(), auth_header(member.access_token)),
               403);
  EXPECT_EQ(status_of(post(c, "/api/v0/households/invites", json::object(),
                           auth_header(admin.access_token))),
            201);
  expect_error(post(c, "/api/v0/households/invites", json::object()), 401);
  expect_error(post(c, "/api/v0/households/invites", {{"role", "owner"}},
                    auth_header(owner.access_token)),
               400, "Unknown role, or one that cannot be given this way");
  expect_error(post(c, "/api/v0/households/invites", {{"role", "member"}},
                    auth_header(owner.access_token)),
               400, "Unknown role, or one that cannot be given this way");
  expect_error(post(c, "/api/v0/households/invites", {{"expires_in_hours", 0}},
                    auth_header(owner.access_token)),
               400);
}

TEST_F(AuthTest, ExpiredInviteIsRefused) {
  TestUser owner = register_user();
  auto c = client();
  auto invite = post(c, "/api/v0/households/invites", json::object(), auth_header(owner.access_token));
  ASSERT_EQ(status_of(invite), 201);
  const std::string code = body_of(invite)["invite_code"].get<std::string>();
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    tx.exec_params("UPDATE secretsd.invites SET expires_at = now() - interval '1 second' "
                   "WHERE created_by = $1",
                   owner.id);
  }
  expect_error(post(c, "/api/v0/auth/register",
                    {{"email", "late-" + unique_suffix() + "@example.test"},
                     {"password", "Longenough tundra 77"},
                     {"invite_code", code}}),
               400, "Invalid or expired invite code");
}

// ---- login ------------------------------------------------------------------------------

TEST_F(AuthTest, LoginReturnsATokenPair) {
  TestUser user = register_user();
  auto c = client();
  auto res = post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", user.password}});
  ASSERT_EQ(status_of(res), 200);
  auto body = body_of(res);
  EXPECT_EQ(body["token_type"], "bearer");
  EXPECT_EQ(body["expires_in"], 900);
  EXPECT_EQ(body["user_id"], user.id);
  EXPECT_TRUE(body["access_token"].is_string());
  EXPECT_TRUE(body["refresh_token"].is_string());
  EXPECT_TRUE(body["refresh_token"].get<std::string>() != user.refresh_token);
  auto me = c.Get(("/api/v0/users/" + user.id).c_str(),
                  auth_header(body["access_token"].get<std::string>()));
  EXPECT_EQ(status_of(me), 200);
}

TEST_F(AuthTest, UnknownEmailAndWrongPasswordLookTheSame) {
  TestUser user = register_user();
  auto c = client();
  auto wrong = post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", "wrong password"}});
  auto unknown = post(c, "/api/v0/auth/login",
                      {{"email", "nobody-" + unique_suffix() + "@example.test"},
                       {"password", "wrong password"}});
  expect_error(wrong, 401, "Invalid email or password");
  expect_error(unknown, 401, "Invalid email or password");
  EXPECT_EQ(wrong->body, unknown->body);
}

TEST_F(AuthTest, LoginIgnoresEmailCase) {
  TestUser user = register_user();
  std::string upper = user.email;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  auto c = client();
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/login", {{"email", upper}, {"password", user.password}})),
            200);
}

TEST_F(AuthTest, LoginValidatesItsBody) {
  auto c = client();
  expect_error(post_raw(c, "/api/v0/auth/login", "nope"), 400, "Invalid JSON body");
  expect_error(post(c, "/api/v0/auth/login", {{"email", "a@b.test"}}), 400, "password is required");
  expect_error(post(c, "/api/v0/auth/login", {{"email", 1}, {"password", "x"}}), 400,
               "email must be a string");
}

TEST_F(AuthTest, LoginIsRateLimited) {
  auto limited = SecretsdProcess::start({{"SECRETSD_LOGIN_RATE_LIMIT", "3,100"}});
  TestUser user = register_user();
  auto c = limited->client();
  for (int i = 0; i < 3; ++i) {
    expect_error(post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", "wrong pass"}}),
                 401);
  }
  auto res = post(c, "/api/v0/auth/login", {{"email", user.email}, {"password", user.password}});
  expect_error(res, 429, "Too many login attempts, try again later");
  ASSERT_TRUE(res->has_header("Retry-After"));
  EXPECT_GE(std::stoi(res->get_header_value("Retry-After")), 1);
  // Another account from the same address is still allowed (per-address limit is 100).
  TestUser other = register_user();
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/login",
                           {{"email", other.email}, {"password", other.password}})),
            200);
}

TEST_F(AuthTest, LoginIsRateLimitedPerAddress) {
  auto limited = SecretsdProcess::start({{"SECRETSD_LOGIN_RATE_LIMIT", "100,2"}});
  auto c = limited->client();
  for (int i = 0; i < 2; ++i) {
    post(c, "/api/v0/auth/login",
         {{"email", "x" + std::to_string(i) + "@example.test"}, {"password", "whatever1"}});
  }
  expect_error(post(c, "/api/v0/auth/login", {{"email", "z@example.test"}, {"password", "whatever1"}}),
               429);
}

TEST_F(AuthTest, RegistrationIsRateLimitedPerAddress) {
  auto limited = SecretsdProcess::start({{"SECRETSD_REGISTER_RATE_LIMIT", "2"}});
  auto c = limited->client();
  auto registration = [&](const std::string& email) {
    return post(c, "/api/v0/auth/register",
                {{"email", email}, {"password", "long enough walrus 1"}, {"household_name", "Limited"}});
  };
  const std::string stem = "limited-" + unique_suffix();
  EXPECT_EQ(status_of(registration(stem + "-1@example.test")), 202);
  EXPECT_EQ(status_of(registration(stem + "-2@example.test")), 202);
  auto refused = registration(stem + "-3@example.test");
  expect_error(refused, 429, "Too many registrations from this address, try again later");
  ASSERT_TRUE(refused);
  EXPECT_GE(std::atoi(refused->get_header_value("Retry-After").c_str()), 1);
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secretsd.users WHERE email LIKE $1", stem + "%")[0].as<int>(), 2);
}

// ---- refresh ----------------------------------------------------------------------------

TEST_F(AuthTest, RefreshRotatesThePair) {
  TestUser user = register_user();
  auto c = client();
  auto res = post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}});
  ASSERT_EQ(status_of(res), 200);
  auto body = body_of(res);
  EXPECT_EQ(body["token_type"], "bearer");
  const std::string next = body["refresh_token"].get<std::string>();
  EXPECT_TRUE(next != user.refresh_token);
  EXPECT_EQ(status_of(c.Get(("/api/v0/users/" + user.id).c_str(),
                            auth_header(body["access_token"].get<std::string>()))),
            200);
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", next}})), 200);
}

TEST_F(AuthTest, ReuseWithinTheGraceWindowGetsASiblingPair) {
  TestUser user = register_user();
  auto c = client();
  auto first = post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}});
  ASSERT_EQ(status_of(first), 200);
  // A concurrent tab presents the same token again within the 10 s default.
  auto second = post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}});
  ASSERT_EQ(status_of(second), 200);
  const std::string a = body_of(first)["refresh_token"].get<std::string>();
  const std::string b = body_of(second)["refresh_token"].get<std::string>();
  EXPECT_TRUE(a != b);
  // Nothing was revoked: both descendants still work.
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", a}})), 200);
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", b}})), 200);
}

TEST_F(AuthTest, ReuseAfterTheGraceWindowRevokesTheFamily) {
  auto strict = SecretsdProcess::start({{"SECRETSD_REFRESH_GRACE_SECONDS", "0"}});
  TestUser user = register_user();
  TestUser other_session = login(user);
  auto c = strict->client();
  auto rotated = post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}});
  ASSERT_EQ(status_of(rotated), 200);
  const std::string newest = body_of(rotated)["refresh_token"].get<std::string>();

  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}}), 401,
               "Invalid refresh token");
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", newest}}), 401,
               "Invalid refresh token");
  // Another login is another family and is untouched.
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/refresh", {{"refresh_token", other_session.refresh_token}})),
            200);
}

// A family revoked while a rotation in it is in flight (logout, or reuse
// detection) also loses the token that rotation issues. Driven in SQL so
// the interleaving is forced: the rotation's transaction stays open while
// the revocation starts, and the revocation must wait for it.
TEST_F(AuthTest, RevocationRacingARotationRevokesTheNewToken) {
  TestUser user = register_user();
  for (const std::string revocation : {"logout", "reuse"}) {
    SCOPED_TRACE(revocation);
    const std::string tag = "race-" + revocation + "-" + unique_suffix();
    const std::string old_hash = tag + "-a";   // rotated an hour ago
    const std::string live_hash = tag + "-b";  // current
    const std::string new_hash = tag + "-c";   // what the racing rotation issues
    std::string family;
    {
      auto db = superuser_db();
      pqxx::nontransaction tx(db);
      family = tx.exec1("SELECT gen_random_uuid()::text")[0].as<std::string>();
      tx.exec_params("INSERT INTO secretsd.sessions (id, user_id) VALUES ($1::uuid, $2::uuid)", family,
                     user.id);
      tx.exec_params(
          "INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at, rotated_at)"
          " VALUES ($1::uuid, $2::uuid, $3, now() + interval '1 day', now() - interval '1 hour'),"
          "        ($1::uuid, $2::uuid, $4, now() + interval '1 day', NULL)",
          family, user.id, old_hash, live_hash);
    }

    auto rotator_db = superuser_db();
    pqxx::work rotation(rotator_db);
    EXPECT_EQ(rotation.exec_params1("SELECT outcome FROM secretsd.rotate_refresh_token($1, $2, 30, 10)",
                                    live_hash, new_hash)[0].as<std::string>(),
              "rotated");

    std::string revoker_result;
    std::thread revoker([&] {
      auto db = superuser_db();
      pqxx::nontransaction tx(db);
      revoker_result = revocation == "logout"
          ? tx.exec_params1("SELECT secretsd.end_session_of_refresh($1, 'logout')::text", live_hash)[0]
                .as<std::string>()
          : tx.exec_params1("SELECT outcome FROM secretsd.rotate_refresh_token($1, $2, 30, 10)",
                            old_hash, tag + "-x")[0].as<std::string>();
    });
    // The revocation must be waiting on the family lock, not done already.
    {
      auto db = superuser_db();
      pqxx::nontransaction tx(db);
      bool waiting = false;
      for (int i = 0; i < 1000 && !waiting; ++i) {  // up to 20 s on a slow machine
        waiting = tx.exec1("SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")[0]
                      .as<bool>();
        if (!waiting) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      EXPECT_TRUE(waiting);
    }
    rotation.commit();
    revoker.join();
    EXPECT_EQ(revoker_result, revocation == "logout" ? family : "reused");

    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    EXPECT_EQ(tx.exec_params1("SELECT count(*) FROM secretsd.refresh_tokens"
                              " WHERE family_id = $1::uuid AND revoked_at IS NULL", family)[0].as<int>(),
              0);
    // Either way the session ended.
    EXPECT_EQ(tx.exec_params1("SELECT end_reason FROM secretsd.sessions WHERE id = $1::uuid", family)[0]
                  .as<std::string>(),
              revocation == "logout" ? "logout" : "refresh_reuse");
    EXPECT_EQ(tx.exec_params1("SELECT outcome FROM secretsd.rotate_refresh_token($1, $2, 30, 10)",
                              new_hash, tag + "-d")[0].as<std::string>(),
              "invalid");
  }
}

TEST_F(AuthTest, RefreshRejectsBadTokens) {
  TestUser user = register_user();
  auto c = client();
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", "garbage"}}), 401,
               "Invalid refresh token");
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", ""}}), 401);
  expect_error(post(c, "/api/v0/auth/refresh", json::object()), 400, "refresh_token is required");
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", 5}}), 400,
               "refresh_token must be a string");
  // An access token is not a refresh token.
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", user.access_token}}), 401);
}

TEST_F(AuthTest, ExpiredRefreshTokenIsRejected) {
  TestUser user = register_user();
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    tx.exec_params("UPDATE secretsd.refresh_tokens SET expires_at = now() - interval '1 second' "
                   "WHERE user_id = $1",
                   user.id);
  }
  auto c = client();
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}}), 401);
}

// ---- logout -----------------------------------------------------------------------------

TEST_F(AuthTest, LogoutRevokesTheFamily) {
  TestUser user = register_user();
  auto c = client();
  auto rotated = post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}});
  ASSERT_EQ(status_of(rotated), 200);
  const std::string newest = body_of(rotated)["refresh_token"].get<std::string>();
  auto out = post(c, "/api/v0/auth/logout", {{"refresh_token", newest}});
  ASSERT_EQ(status_of(out), 204);
  EXPECT_TRUE(out->body.empty());
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", newest}}), 401);
  expect_error(post(c, "/api/v0/auth/refresh", {{"refresh_token", user.refresh_token}}), 401);
  // Idempotent, and says nothing about unknown tokens.
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/logout", {{"refresh_token", newest}})), 204);
  EXPECT_EQ(status_of(post(c, "/api/v0/auth/logout", {{"refresh_token", "unknown"}})), 204);
  expect_error(post(c, "/api/v0/auth/logout", json::object()), 400);
}

// ---- bearer tokens ----------------------------------------------------------------------

TEST_F(AuthTest, BadBearerTokensAre401) {
  TestUser user = register_user();
  auto c = client();
  const std::string path = "/api/v0/users/" + user.id;
  const std::string key = auth_secret_key();

  expect_error(c.Get(path.c_str()), 401);
  expect_error(c.Get(path.c_str(), auth_header("garbage")), 401);
  expect_error(c.Get(path.c_str(), {{"Authorization", "Basic abc"}}), 401);
  // A refresh token is not a bearer token.
  expect_error(c.Get(path.c_str(), auth_header(user.refresh_token)), 401);

  JwtClaims expired = claims_for(user);
  expired.iat = now_seconds() - 7200;
  expired.exp = now_seconds() - 3600;
  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(expired, key))), 401);

  JwtClaims as_refresh = claims_for(user);
  as_refresh.typ = "refresh";
  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(as_refresh, key))), 401);

  JwtClaims wrong_aud = claims_for(user);
  wrong_aud.aud = "someone-else";
  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(wrong_aud, key))), 401);

  JwtClaims no_session = claims_for(user);
  no_session.extra = json::object();
  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(no_session, key))), 401);
  // A well-formed session id that is not this user's session.
  JwtClaims other_session = claims_for(user);
  other_session.extra["sid"] = "00000000-0000-0000-0000-000000000000";
  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(other_session, key))), 401);

  expect_error(c.Get(path.c_str(), auth_header(sign_jwt(claims_for(user), "another key entirely"))),
               401);

  // alg "none": header {"alg":"none","typ":"JWT"}, the real payload, no signature.
  std::string signed_token = sign_jwt(claims_for(user), key);
  std::string payload = signed_token.substr(signed_token.find('.') + 1);
  payload = payload.substr(0, payload.find('.'));
  const std::string none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
  expect_error(c.Get(path.c_str(), auth_header(none_header + "." + payload + ".")), 401);

  // Sanity: the same claims, properly signed, are accepted.
  EXPECT_EQ(status_of(c.Get(path.c_str(), auth_header(signed_token))), 200);
}

// ---- users ------------------------------------------------------------------------------

TEST_F(AuthTest, UsersSeeThemselvesAndManagersSeeTheirHousehold) {
  TestUser owner = register_user();
  TestUser member = register_invited_user(owner, "writer");
  TestUser stranger = register_user("Other household");
  auto c = client();

  auto me = c.Get(("/api/v0/users/" + member.id).c_str(), auth_header(member.access_token));
  ASSERT_EQ(status_of(me), 200);
  auto body = body_of(me);
  EXPECT_EQ(body["id"], member.id);
  EXPECT_EQ(body["email"], member.email);
  EXPECT_EQ(body["household_id"], owner.household_id);
  EXPECT_EQ(body["role"], "writer");
  EXPECT_TRUE(body["created_at"].is_string());
  EXPECT_FALSE(body.contains("password_hash"));

  EXPECT_EQ(status_of(c.Get(("/api/v0/users/" + member.id).c_str(), auth_header(owner.access_token))),
            200);
  expect_error(c.Get(("/api/v0/users/" + owner.id).c_str(), auth_header(member.access_token)), 403);
  // Another household's user does not exist for the caller, even for an owner.
  expect_error(c.Get(("/api/v0/users/" + stranger.id).c_str(), auth_header(owner.access_token)), 404,
               "User not found");
  expect_error(c.Get(("/api/v0/users/" + owner.id).c_str(), auth_header(stranger.access_token)), 404);
  expect_error(c.Get("/api/v0/users/not-a-uuid", auth_header(owner.access_token)), 404);
  expect_error(c.Get("/api/v0/users/00000000-0000-0000-0000-000000000000",
                     auth_header(owner.access_token)),
               404);
}

TEST_F(AuthTest, UsersEndpointIsForUsersOnly) {
  TestUser owner = register_user();
  NodeCredentials node = create_node(owner.household_id);
  auto c = client();
  expect_error(c.Get(("/api/v0/users/" + owner.id).c_str(), {{"X-API-Key", node.header()}}), 403);
  expect_error(c.Get(("/api/v0/users/" + owner.id).c_str(), admin_headers()), 403);
}

// ---- admin ------------------------------------------------------------------------------

TEST_F(AuthTest, AdminEndpointsNeedTheAdminKey) {
  auto c = client();
  const json body = {{"app_id", "app-" + unique_suffix()}};
  expect_error(post(c, "/api/v0/admin/apps", body), 401, "Not authenticated");
  expect_error(post(c, "/api/v0/admin/apps", body, {{"X-Admin-Key", "wrong"}}), 401,
               "Invalid credentials");
  expect_error(post(c, "/api/v0/admin/nodes", {{"node_id", "n1"}}, {{"X-Admin-Key", "wrong"}}), 401);
  expect_error(c.Delete("/api/v0/admin/apps/anything"), 401);
  // A user who is not an instance admin: a known caller, without the right.
  TestUser owner = register_user();
  expect_error(post(c, "/api/v0/admin/apps", body, auth_header(owner.access_token)), 403,
               "Instance administrators only");
}

// Without ADMIN_API_KEY there is no break-glass key: the admin routes are
// there for instance admins, and any X-Admin-Key is refused.
TEST_F(AuthTest, WithoutAdminKeyNoBreakGlassKeyIsAccepted) {
  auto no_admin = SecretsdProcess::start({{"ADMIN_API_KEY", ""}});
  auto c = no_admin->client();
  expect_error(post(c, "/api/v0/admin/apps", {{"app_id", "x"}}, admin_headers()), 401,
               "Invalid credentials");
  expect_error(post(c, "/api/v0/admin/nodes", {{"node_id", "x"}}, {{"X-Admin-Key", ""}}), 401);
}

TEST_F(AuthTest, AdminAppLifecycleAndErrors) {
  TestUser owner = register_user();
  auto c = client();
  AppCredentials app = create_app({owner.household_id});

  expect_error(post(c, "/api/v0/admin/apps", {{"app_id", app.app_id}}, admin_headers()), 409,
               "App already exists");
  expect_error(post(c, "/api/v0/admin/apps", {{"app_id", "Bad ID!"}}, admin_headers()), 400);
  expect_error(post(c, "/api/v0/admin/apps",
                    {{"app_id", "app-" + unique_suffix()},
                     {"household_ids", {"00000000-0000-0000-0000-000000000000"}}},
                    admin_headers()),
               400, "Unknown household");
  expect_error(post(c, "/api/v0/admin/apps",
                    {{"app_id", "app-" + unique_suffix()}, {"household_ids", "nope"}}, admin_headers()),
               400, "household_ids must be an array of household ids");
  expect_error(post(c, "/api/v0/admin/apps/no-such-app/rotate", json::object(), admin_headers()), 404,
               "App not found");

  auto db = superuser_db();
  {
    pqxx::nontransaction tx(db);
    expect_stored_hashed(tx, "apps", "key_hash", app.app_key);
  }

  // Rotation replaces the key.
  auto rotated = post(c, "/api/v0/admin/apps/" + app.app_id + "/rotate", json::object(),
                      admin_headers());
  ASSERT_EQ(status_of(rotated), 200);
  const std::string new_key = body_of(rotated)["app_key"].get<std::string>();
  expect_error(post(c, "/internal/validate-app", {{"app_id", app.app_id}, {"app_key", app.app_key}},
                    app_headers(app.app_id, new_key)),
               401, "Invalid app credentials");
  expect_error(post(c, "/internal/validate-app", {{"app_id", app.app_id}, {"app_key", new_key}},
                    app_headers(app.app_id, app.app_key)),
               401, "Invalid credentials");
  EXPECT_EQ(status_of(post(c, "/internal/validate-app", {{"app_id", app.app_id}, {"app_key", new_key}},
                           app_headers(app.app_id, new_key))),
            200);

  // Revocation ends it; a second revocation is 404; the id can be issued again.
  auto revoked = c.Delete(("/api/v0/admin/apps/" + app.app_id).c_str(), admin_headers());
  EXPECT_EQ(status_of(revoked), 204);
  expect_error(post(c, "/internal/validate-app", {{"app_id", app.app_id}, {"app_key", new_key}},
                    app_headers(app.app_id, new_key)),
               401);
  expect_error(c.Delete(("/api/v0/admin/apps/" + app.app_id).c_str(), admin_headers()), 404);
  EXPECT_EQ(status_of(post(c, "/api/v0/admin/apps", {{"app_id", app.app_id}}, admin_headers())), 201);
}

TEST_F(AuthTest, AppHouseholdGrants) {
  TestUser a = register_user();
  TestUser b = register_user();
  AppCredentials app = create_app({a.household_id});
  AppCredentials checker = create_app();
  auto c = client();
  const json probe = {{"app_id", checker.app_id}, {"app_key", checker.app_key}};
  auto with_household = [&](const std::string& household) {
    auto h = app_headers(app.app_id, app.app_key);
    h.emplace("X-Household-Id", household);
    return h;
  };
  EXPECT_EQ(status_of(post(c, "/internal/validate-app", probe, with_household(a.household_id))), 200);
  expect_error(post(c, "/internal/validate-app", probe, with_household(b.household_id)), 403);
  expect_error(post(c, "/internal/validate-app", probe, with_household("not-a-uuid")), 403);

  auto put = c.Put(("/api/v0/admin/apps/" + app.app_id + "/households").c_str(), admin_headers(),
                   json({{"household_ids", {b.household_id}}}).dump(), "application/json");
  ASSERT_EQ(status_of(put), 200);
  EXPECT_EQ(body_of(put)["household_ids"], json({b.household_id}));
  EXPECT_EQ(status_of(post(c, "/internal/validate-app", probe, with_household(b.household_id))), 200);
  expect_error(post(c, "/internal/validate-app", probe, with_household(a.household_id)), 403);

  expect_error(c.Put("/api/v0/admin/apps/no-such-app/households", admin_headers(),
                     json({{"household_ids", json::array()}}).dump(), "application/json"),
               404);
  expect_error(c.Put(("/api/v0/admin/apps/" + app.app_id + "/households").c_str(), admin_headers(),
                     "{}", "application/json"),
               400, "household_ids or grants is required");
}

TEST_F(AuthTest, AdminNodeLifecycleAndErrors) {
  TestUser owner = register_user();
  AppCredentials app = create_app();
  NodeCredentials node = create_node(owner.household_id);
  auto c = client();
  const auto caller = app_headers(app.app_id, app.app_key);

  expect_error(post(c, "/api/v0/admin/nodes", {{"node_id", node.node_id}, {"household_id", owner.household_id}},
                    admin_headers()),
               409, "Node already exists");
  expect_error(post(c, "/api/v0/admin/nodes",
                    {{"node_id", "n-" + unique_suffix()},
                     {"household_id", "00000000-0000-0000-0000-000000000000"}},
                    admin_headers()),
               400, "Unknown household");
  expect_error(post(c, "/api/v0/admin/nodes", {{"node_id", "bad id"}, {"household_id", owner.household_id}},
                    admin_headers()),
               400);
  expect_error(post(c, "/api/v0/admin/nodes", {{"node_id", "n-" + unique_suffix()}}, admin_headers()), 400,
               "household_id is required");

  auto rotated = post(c, "/api/v0/admin/nodes/" + node.node_id + "/rotate", json::object(), admin_headers());
  ASSERT_EQ(status_of(rotated), 200);
  EXPECT_EQ(body_of(rotated)["household_id"], owner.household_id);
  const std::string new_key = body_of(rotated)["api_key"].get<std::string>();
  expect_error(post(c, "/internal/validate-node", {{"node_id", node.node_id}, {"api_key", node.api_key}}, caller),
               401, "Invalid node credentials");
  EXPECT_EQ(status_of(post(c, "/internal/validate-node", {{"node_id", node.node_id}, {"api_key", new_key}},
                           caller)),
            200);

  EXPECT_EQ(status_of(c.Delete(("/api/v0/admin/nodes/" + node.node_id).c_str(), admin_headers())), 204);
  expect_error(post(c, "/internal/validate-node", {{"node_id", node.node_id}, {"api_key", new_key}}, caller),
               401);
  expect_error(c.Delete(("/api/v0/admin/nodes/" + node.node_id).c_str(), admin_headers()), 404);
  expect_error(post(c, "/api/v0/admin/nodes/no-such-node/rotate", json::object(), admin_headers()), 404,
               "Node not found");
}

// ---- /internal/validate-* -----------------------------------------------------------------

TEST_F(AuthTest, ValidateNodeAcceptsBothBodyForms) {
  TestUser owner = register_user();
  AppCredentials app = create_app();
  NodeCredentials node = create_node(owner.household_id);
  auto c = client();
  const auto caller = app_headers(app.app_id, app.app_key);

  auto split = post(c, "/internal/validate-node", {{"node_id", node.node_id}, {"api_key", node.api_key}}, caller);
  ASSERT_EQ(status_of(split), 200);
  auto body = body_of(split);
  EXPECT_EQ(body["valid"], true);
  EXPECT_EQ(body["node_id"], node.node_id);
  EXPECT_EQ(body["household_id"], owner.household_id);
  auto combined = post(c, "/internal/validate-node", {{"api_key", node.header()}}, caller);
  ASSERT_EQ(status_of(combined), 200);
  EXPECT_EQ(body_of(combined)["node_id"], node.node_id);

  expect_error(post(c, "/internal/validate-node", {{"node_id", node.node_id}, {"api_key", "wrong"}}, caller),
               401, "Invalid node credentials");
  expect_error(post(c, "/internal/validate-node", {{"api_key", "no-colon"}}, caller), 401);
  expect_error(post(c, "/internal/validate-node", {{"node_id", "unknown-node"}, {"api_key", "k"}}, caller), 401);
  expect_error(post(c, "/internal/validate-node", {{"node_id", node.node_id}}, caller), 400,
               "api_key is required");
}

TEST_F(AuthTest, ValidateEndpointsNeedAppCredentials) {
  TestUser owner = register_user();
  AppCredentials app = create_app();
  NodeCredentials node = create_node(owner.household_id);
  auto c = client();
  const json app_body = {{"app_id", app.app_id}, {"app_key", app.app_key}};
  const json node_body = {{"node_id", node.node_id}, {"api_key", node.api_key}};

  expect_error(post(c, "/internal/validate-app", app_body), 401, "Not authenticated");
  expect_error(post(c, "/internal/validate-node", node_body), 401);
  expect_error(post(c, "/internal/validate-app", app_body, app_headers(app.app_id, "wrong")), 401,
               "Invalid credentials");
  expect_error(post(c, "/internal/validate-app", app_body, {{"X-Jarvis-App-Id", app.app_id}}), 401);
  expect_error(post(c, "/internal/validate-app", app_body, app_headers("unknown-app", app.app_key)), 401);
  // Valid credentials of another kind are not enough.
  expect_error(post(c, "/internal/validate-node", node_body, auth_header(owner.access_token)), 403);
  expect_error(post(c, "/internal/validate-node", node_body, {{"X-API-Key", node.header()}}), 403);

  auto ok = post(c, "/internal/validate-app", app_body, app_headers(app.app_id, app.app_key));
  ASSERT_EQ(status_of(ok), 200);
  EXPECT_EQ(body_of(ok)["valid"], true);
  EXPECT_EQ(body_of(ok)["app_id"], app.app_id);
  expect_error(post_raw(c, "/internal/validate-app", "{", app_headers(app.app_id, app.app_key)), 400);
}

// ---- nothing secret in the output -----------------------------------------------------------

TEST_F(AuthTest, OutputNeverContainsCredentials) {
  TestUser owner = register_user();
  TestUser again = login(owner);
  auto c = client();
  auto refreshed = post(c, "/api/v0/auth/refresh", {{"refresh_token", again.refresh_token}});
  ASSERT_EQ(status_of(refreshed), 200);
  AppCredentials app = create_app({owner.household_id});
  NodeCredentials node = create_node(owner.household_id);
  post(c, "/internal/validate-node", {{"api_key", node.header()}}, app_headers(app.app_id, app.app_key));
  post(c, "/api/v0/auth/login", {{"email", owner.email}, {"password", "a wrong canary password"}});

  const std::string output = secretsd_output();
  EXPECT_NE(output.find("/api/v0/auth/login"), std::string::npos) << "access log missing";
  const std::string secrets[] = {owner.password,
                                 owner.access_token,
                                 owner.refresh_token,
                                 again.refresh_token,
                                 body_of(refreshed)["refresh_token"].get<std::string>(),
                                 app.app_key,
                                 node.api_key,
                                 admin_key(),
                                 auth_secret_key(),
                                 "a wrong canary password",
                                 owner.email};
  for (std::size_t i = 0; i < std::size(secrets); ++i) {
    EXPECT_EQ(output.find(secrets[i]), std::string::npos) << "credential #" << i << " in the output";
  }
}

}  // namespace
}  // namespace secretsd::it

namespace secretsd::it {
namespace {

// One check guards every route (api/access.h), so every family of routes
// refuses in the same words: no credentials, bad credentials, and a valid
// caller of the wrong kind.
TEST_F(AuthTest, EveryRouteFamilyRefusesInTheSameWords) {
  TestUser owner = register_user();
  auto c = client();
  const httplib::Headers bad_token = auth_header(owner.access_token + "x");
  const httplib::Headers user = auth_header(owner.access_token);
  struct Family {
    std::string path;
    const char* wrong_kind_message;
    httplib::Headers wrong_kind;
  };
  const std::vector<Family> families = {
      {"/api/v0/admin/settings", "Instance administrators only", user},
      {"/api/v0/admin/runtimes", "Instance administrators only", user},
      {"/internal/runtime-env?runtime_id=x", "App credentials required", user},
      {"/api/secrets", "The admin key does not give access to household secrets", admin_headers()},
      {"/api/v0/users/" + owner.id, "A user's access token is required", admin_headers()},
  };
  for (const auto& f : families) {
    SCOPED_TRACE(f.path);
    expect_error(c.Get(f.path.c_str()), 401, "Not authenticated");
    expect_error(c.Get(f.path.c_str(), bad_token), 401, "Invalid credentials");
    expect_error(c.Get(f.path.c_str(), f.wrong_kind), 403, f.wrong_kind_message);
  }
}

}  // namespace
}  // namespace secretsd::it
