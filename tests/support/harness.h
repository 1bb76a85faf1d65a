// Shared set-up for the integration tests: one scratch database with the
// pgsecrets extension, and one secretsd process serving it, for the whole
// test binary. Tests skip unless PGSECRETS_TEST_DB=1 (scripts/test.sh sets it
// together with PGHOST/PGPORT/PGUSER of a superuser).
//
// Write a test as
//   class MyTest : public secretsd::it::SecretsdTest {};
//   TEST_F(MyTest, Works) { auto c = client(); ... }
// Helpers never print credentials; failures name only status codes.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "crypto/jwt.h"

namespace secretsd::it {

using Env = std::map<std::string, std::string>;

// A running secretsd child process; SIGTERM + wait on destruction.
class SecretsdProcess {
 public:
  // Starts SECRETSD_BIN against the test database with the harness's
  // default environment, `extra_env` overriding it (e.g.
  // {{"SECRETSD_LOGIN_RATE_LIMIT", "3"}}), and waits up to 15 s for
  // GET /health. Throws std::runtime_error if it exits or never answers.
  static std::unique_ptr<SecretsdProcess> start(const Env& extra_env = {});

  // Runs secretsd with `args` (e.g. {"migrate"}) and the same environment,
  // waits for it, and returns its exit status (-1 if killed by a signal).
  static int run_to_completion(const std::vector<std::string>& args, const Env& extra_env = {},
                               std::string* output = nullptr);

  ~SecretsdProcess();
  SecretsdProcess(const SecretsdProcess&) = delete;
  SecretsdProcess& operator=(const SecretsdProcess&) = delete;

  int port() const { return port_; }
  httplib::Client client() const;
  std::string output() const;  // stdout + stderr so far
  // SIGTERM, then waits; returns the exit status (-1 if it had to be killed).
  int stop();

 private:
  struct PortTaken {};  // secretsd could not bind the port it was given
  static std::unique_ptr<SecretsdProcess> start_on(int port, const Env& extra_env);
  SecretsdProcess(pid_t pid, int port, std::string log_path)
      : pid_(pid), port_(port), log_path_(std::move(log_path)) {}

  pid_t pid_;
  int port_;
  std::string log_path_;
};

// ---- the shared instance (started lazily, torn down at the end) --------

bool enabled();                     // PGSECRETS_TEST_DB set (and not 0)
// The environment secretsd processes get (database, keys, cheap argon2,
// high rate limits), `extra_env` overriding it: for tests that build the
// service's App in this process.
Env secretsd_environment(const Env& extra_env = {});
SecretsdProcess& secretsd();        // the shared process
std::string database_name();        // secretsd_it_<pid>
std::string admin_key();            // ADMIN_API_KEY of every started process
std::string auth_secret_key();      // AUTH_SECRET_KEY (to forge JWTs in tests)
httplib::Client client();           // to the shared process
std::string secretsd_output();      // the shared process's output so far
pqxx::connection superuser_db();    // superuser connection to the test database

// ---- request helpers ---------------------------------------------------

httplib::Headers auth_header(const std::string& access_token);
httplib::Headers admin_headers();
httplib::Headers app_headers(const std::string& app_id, const std::string& app_key);
httplib::Headers node_headers(const std::string& node_id, const std::string& api_key);

// Parses a response body (empty object for an empty body).
nlohmann::json body_of(const httplib::Result& res);

struct TestUser {
  std::string id;
  std::string household_id;
  std::string session_id;  // the sign-in the tokens belong to
  std::string email;
  std::string password;
  std::string access_token;
  std::string refresh_token;
};

// Registers a new user with a unique email, owner of a new household.
TestUser register_user(const std::string& household_name = "Test household");
// Registers a member of an existing household through an invite created by
// `inviter` (an owner or admin), with `role` (admin|writer|reader|auditor).
TestUser register_invited_user(const TestUser& inviter, const std::string& role = "writer");
// Logs in again (a new refresh-token family).
TestUser login(const TestUser& user);

struct NodeCredentials {
  std::string node_id;
  std::string api_key;
  std::string header() const { return node_id + ":" + api_key; }  // X-API-Key value
};
NodeCredentials create_node(const std::string& household_id);

struct AppCredentials {
  std::string app_id;
  std::string app_key;
};
AppCredentials create_app(const std::vector<std::string>& household_ids = {});

std::string unique_suffix();  // "<pid>-<n>", unique in this binary

// The claims of a valid access token of `user` (an owner, 10 minutes), to
// sign with sign_jwt(claims, auth_secret_key()) after changing a field.
JwtClaims claims_for(const TestUser& user);

// Base fixture: skips without a database, fails if the shared set-up failed.
class SecretsdTest : public ::testing::Test {
 protected:
  void SetUp() override;
};

}  // namespace secretsd::it
