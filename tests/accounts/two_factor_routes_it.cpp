// Two-factor sign-in over REST (issue 22): enrolment, confirmation, login
// with a TOTP code computed by `oathtool` (another implementation) or a
// recovery code, replay refused, turning it off, a household's requirement
// (403 until the member signs in with a second factor), and the
// registration modes (closed, invite) on processes of their own.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "harness.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

// `oathtool --totp -b -N @<now> <base32>`
std::string oathtool_code(const std::string& base32, std::time_t now) {
  const std::string command = "oathtool --totp -b -N @" +
                              std::to_string(static_cast<long long>(now)) + " " + base32 +
                              " 2>/dev/null";
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  char buffer[32] = {};
  if (!pipe || std::fgets(buffer, sizeof buffer, pipe.get()) == nullptr) return "";
  std::string code(buffer);
  while (!code.empty() && (code.back() == '\n' || code.back() == '\r')) code.pop_back();
  return code;
}

int status_of(const httplib::Result& res) { return res ? res->status : -1; }

httplib::Result send(httplib::Client& c, const std::string& method, const std::string& path,
                     const json& body, const httplib::Headers& headers) {
  if (method == "PUT") return c.Put(path.c_str(), headers, body.dump(), "application/json");
  if (method == "DELETE") return c.Delete(path.c_str(), headers, body.dump(), "application/json");
  return c.Post(path.c_str(), headers, body.dump(), "application/json");
}

httplib::Result login_with(httplib::Client& c, const TestUser& user, const json& extra) {
  json body = {{"email", user.email}, {"password", user.password}};
  for (const auto& [k, v] : extra.items()) body[k] = v;
  return c.Post("/api/v0/auth/login", body.dump(), "application/json");
}

class TwoFactorRoutesTest : public SecretsdTest {
 protected:
  // Enrols and confirms `user`'s authenticator; returns its base32 secret
  // and fills the recovery codes.
  std::string turn_on(const TestUser& user, std::vector<std::string>* codes = nullptr) {
    auto c = client();
    auto enrol = send(c, "POST", "/api/v0/auth/2fa/enrol", json::object(),
                      auth_header(user.access_token));
    EXPECT_EQ(status_of(enrol), 200);
    if (status_of(enrol) != 200) return "";
    EXPECT_EQ(enrol->get_header_value("Cache-Control"), "no-store");
    const json e = body_of(enrol);
    EXPECT_EQ(e["otpauth_uri"].get<std::string>().rfind("otpauth://totp/", 0), 0u);
    EXPECT_NE(e["qr_svg"].get<std::string>().find("<svg"), std::string::npos);
    const std::string secret = e["secret"].get<std::string>();
    auto confirm = send(c, "POST", "/api/v0/auth/2fa/confirm",
                        {{"code", oathtool_code(secret, std::time(nullptr))}},
                        auth_header(user.access_token));
    EXPECT_EQ(status_of(confirm), 200);
    if (status_of(confirm) == 200 && codes != nullptr) {
      *codes = body_of(confirm)["recovery_codes"].get<std::vector<std::string>>();
    }
    return secret;
  }
};

TEST_F(TwoFactorRoutesTest, LoginAsksForACodeAndTakesEachCodeOnce) {
  TestUser user = register_user();
  std::vector<std::string> codes;
  const std::string secret = turn_on(user, &codes);
  ASSERT_FALSE(secret.empty());
  ASSERT_EQ(codes.size(), 10u);
  auto c = client();

  auto status = c.Get("/api/v0/auth/2fa", auth_header(user.access_token));
  ASSERT_EQ(status_of(status), 200);
  EXPECT_EQ(body_of(status)["enabled"], true);
  EXPECT_EQ(body_of(status)["recovery_codes_left"], 10);

  auto asked = login_with(c, user, json::object());
  ASSERT_EQ(status_of(asked), 401);
  EXPECT_EQ(body_of(asked)["message"], "Two-factor code required");
  EXPECT_EQ(body_of(asked)["two_factor_required"], true);
  EXPECT_FALSE(body_of(asked).contains("access_token"));

  auto forged = login_with(c, user, {{"totp_code", "000000"}});
  // (one in a million: 000000 may be the real code; then this says so)
  EXPECT_EQ(status_of(forged), 401);
  EXPECT_EQ(body_of(forged)["message"], "Invalid credentials");

  // The code of the next step (the confirmation used this one).
  const std::string code = oathtool_code(secret, std::time(nullptr) + 30);
  auto good = login_with(c, user, {{"totp_code", code}});
  ASSERT_EQ(status_of(good), 200) << good->body;
  auto db = superuser_db();
  pqxx::nontransaction tx(db);
  EXPECT_TRUE(tx.exec_params1("SELECT second_factor FROM secretsd.sessions WHERE id = $1",
                              body_of(good)["session_id"].get<std::string>())[0]
                  .as<bool>());

  auto replayed = login_with(c, user, {{"totp_code", code}});
  EXPECT_EQ(status_of(replayed), 401) << "a code is used once";
  EXPECT_EQ(body_of(replayed)["message"], "Invalid credentials");

  auto recovered = login_with(c, user, {{"recovery_code", codes[3]}});
  EXPECT_EQ(status_of(recovered), 200);
  auto again = login_with(c, user, {{"recovery_code", codes[3]}});
  EXPECT_EQ(status_of(again), 401) << "a recovery code works once";
  EXPECT_EQ(body_of(c.Get("/api/v0/auth/2fa", auth_header(user.access_token)))["recovery_codes_left"],
            9);

  // Off with the password (a wrong one is refused); then login needs none.
  EXPECT_EQ(status_of(send(c, "DELETE", "/api/v0/auth/2fa", {{"password", "not it at all"}},
                           auth_header(user.access_token))),
            403);
  EXPECT_EQ(status_of(send(c, "DELETE", "/api/v0/auth/2fa", {{"password", user.password}},
                           auth_header(user.access_token))),
            204);
  EXPECT_EQ(status_of(login_with(c, user, json::object())), 200);
}

TEST_F(TwoFactorRoutesTest, AHouseholdThatRequiresItRefusesSessionsWithout) {
  TestUser owner = register_user();
  TestUser member = register_invited_user(owner, "writer");
  auto c = client();
  const std::string path = "/api/v0/households/" + owner.household_id + "/two-factor";
  EXPECT_EQ(status_of(send(c, "PUT", path, {{"required", true}}, auth_header(member.access_token))),
            403)
      << "owners only";
  EXPECT_EQ(status_of(send(c, "PUT", path, {{"required", "yes"}}, auth_header(owner.access_token))),
            400);
  auto set = send(c, "PUT", path, {{"required", true}}, auth_header(owner.access_token));
  ASSERT_EQ(status_of(set), 200);
  EXPECT_EQ(body_of(set)["require_two_factor"], true);
  std::this_thread::sleep_for(1100ms);  // the session cache's second

  auto refused = c.Get("/api/secrets", auth_header(member.access_token));
  ASSERT_EQ(status_of(refused), 403);
  EXPECT_EQ(body_of(refused)["message"], "This household requires two-factor sign-in");
  // Their own account's routes still work: they can enrol.
  std::vector<std::string> codes;
  ASSERT_FALSE(turn_on(member, &codes).empty());
  auto signed_in = login_with(c, member, {{"recovery_code", codes[0]}});
  ASSERT_EQ(status_of(signed_in), 200);
  const std::string token = body_of(signed_in)["access_token"].get<std::string>();
  EXPECT_EQ(status_of(c.Get("/api/secrets", auth_header(token))), 200);
}

TEST_F(TwoFactorRoutesTest, ClosedRegistrationRefusesEveryone) {
  auto closed = SecretsdProcess::start({{"SECRETSD_REGISTRATION", "closed"}});
  auto c = closed->client();
  auto res = c.Post("/api/v0/auth/register",
                    json{{"email", "closed-" + unique_suffix() + "@example.test"},
                         {"password", "Closed doors 4 walrus"},
                         {"household_name", "H"}}
                        .dump(),
                    "application/json");
  ASSERT_EQ(status_of(res), 403);
  EXPECT_EQ(body_of(res)["message"], "Registration is closed");
}

TEST_F(TwoFactorRoutesTest, InviteRegistrationNeedsAnInviteOnceAccountsExist) {
  TestUser owner = register_user();  // accounts exist in the shared database
  auto invite_only = SecretsdProcess::start({{"SECRETSD_REGISTRATION", "invite"}});
  auto c = invite_only->client();
  const std::string email = "inv-" + unique_suffix() + "@example.test";
  auto refused = c.Post("/api/v0/auth/register",
                        json{{"email", email}, {"password", "Invite only 9 walrus"},
                             {"household_name", "H"}}
                            .dump(),
                        "application/json");
  ASSERT_EQ(status_of(refused), 403);
  EXPECT_EQ(body_of(refused)["message"], "Registration needs an invite code");
  auto invite = c.Post("/api/v0/households/invites", auth_header(owner.access_token),
                       json::object().dump(), "application/json");
  ASSERT_EQ(status_of(invite), 201);
  auto joined = c.Post("/api/v0/auth/register",
                       json{{"email", email}, {"password", "Invite only 9 walrus"},
                            {"invite_code", body_of(invite)["invite_code"]}}
                           .dump(),
                       "application/json");
  EXPECT_EQ(status_of(joined), 202);
}

}  // namespace
}  // namespace secretsd::it
