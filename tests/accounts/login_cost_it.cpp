// A login for an unknown email must cost what a wrong password costs, or
// its speed tells an attacker which emails have accounts. Checked at the
// route: the auth routes run in this process (the argon2 counter,
// argon2_verifications(), counts this process), against the
// integration database, with a real argon2 cost (OWASP's floor) so that
// the time of a request is argon2's. Each request must run exactly one
// verification, and the medians of both kinds must be within 2x of each
// other (without the dummy verification an unknown email answers ~50x
// faster: a wide bound that load on the machine does not cross).
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "accounts/module.h"
#include "api/router.h"
#include "composition/modules.h"
#include "crypto/password_stats.h"
#include "config/config.h"
#include "db/databases.h"
#include "harness.h"
#include "identity/authenticator.h"
#include "identity/tokens.h"
#include "response_recorder.h"
#include "http/server.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

class LoginCostTest : public SecretsdTest {};

// The accounts module built in this process as main() builds it, served on
// a port the kernel picked; stopped and joined on destruction.
class InProcessAuth {
 public:
  explicit InProcessAuth(const Env& extra_env) {
    const Env env = secretsd_environment(extra_env);
    auto loaded = load_config([&env](const std::string& name) -> std::optional<std::string> {
      auto it = env.find(name);
      if (it == env.end()) return std::nullopt;
      return it->second;
    });
    if (!loaded.config) throw std::runtime_error("the test configuration does not load");
    const Config& config = *loaded.config;
    db::DatabaseOptions databases;
    databases.primary_url = config.database_url;
    databases.pool_size = static_cast<std::size_t>(config.pool_size);
    databases_ = std::make_unique<db::Databases>(databases);
    const std::string pepper = identity::derive_credential_pepper(config.auth_secret_key);
    authenticator_ = std::make_unique<identity::CredentialAuthenticator>(
        *databases_, identity::token_options(config), config.admin_api_key, pepper);
    router_ = std::make_unique<api::Router>(
        server_, *authenticator_,
        composition::Modules::access_policy(config));
    accounts_ = std::make_unique<accounts::AccountsModule>(
        *databases_, *authenticator_, accounts::accounts_options(config), pepper);
    accounts_->register_routes(*router_);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) throw std::runtime_error("cannot bind the in-process server");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~InProcessAuth() {
    server_.stop();
    thread_.join();
  }
  InProcessAuth(const InProcessAuth&) = delete;
  InProcessAuth& operator=(const InProcessAuth&) = delete;

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    record_responses(c);  // checked against the OpenAPI document too
    return c;
  }

 private:
  std::unique_ptr<db::Databases> databases_;
  std::unique_ptr<identity::CredentialAuthenticator> authenticator_;
  http::Server server_;
  std::unique_ptr<api::Router> router_;
  std::unique_ptr<accounts::AccountsModule> accounts_;
  int port_ = 0;
  std::thread thread_;
};

struct Attempt {
  int status = 0;
  std::uint64_t verifications = 0;
  double ms = 0;
};

Attempt login_attempt(InProcessAuth& auth, const std::string& email, const std::string& password) {
  auto c = auth.client();
  const std::uint64_t before = argon2_verifications();
  const auto start = std::chrono::steady_clock::now();
  auto res = c.Post("/api/v0/auth/login", json{{"email", email}, {"password", password}}.dump(),
                    "application/json");
  const auto end = std::chrono::steady_clock::now();
  Attempt a;
  a.status = res ? res->status : -1;
  a.verifications = argon2_verifications() - before;
  a.ms = std::chrono::duration<double, std::milli>(end - start).count();
  return a;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST_F(LoginCostTest, UnknownEmailCostsOneVerificationLikeAWrongPassword) {
  InProcessAuth auth({{"SECRETSD_ARGON2_OPSLIMIT", "2"},
                      {"SECRETSD_ARGON2_MEMLIMIT", std::to_string(19u << 20)}});
  // Registered through these routes, so its hash has this module's cost.
  const std::string email = "cost-" + unique_suffix() + "@example.test";
  auto c = auth.client();
  auto reg = c.Post("/api/v0/auth/register",
                    json{{"email", email}, {"password", "right-password-walrus-1"},
                         {"household_name", "cost"}}.dump(),
                    "application/json");
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->status, 202);
  // The right password verifies once too: the counter counts what it should.
  Attempt right = login_attempt(auth, email, "right-password-walrus-1");
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(right.verifications, 1u);

  std::vector<double> wrong_ms, unknown_ms;
  for (int i = 0; i < 5; ++i) {  // interleaved, so load hits both kinds alike
    Attempt wrong = login_attempt(auth, email, "wrong-password-" + std::to_string(i));
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(wrong.verifications, 1u) << "a wrong password must run one argon2 verification";
    wrong_ms.push_back(wrong.ms);
    Attempt unknown = login_attempt(auth, "nobody-" + unique_suffix() + "@example.test",
                                    "wrong-password-" + std::to_string(i));
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(unknown.verifications, 1u) << "an unknown email must run one argon2 verification";
    unknown_ms.push_back(unknown.ms);
  }
  const double wrong = median(wrong_ms), unknown = median(unknown_ms);
  EXPECT_GT(unknown, wrong / 2) << "unknown email " << unknown << " ms, wrong password " << wrong << " ms";
  EXPECT_LT(unknown, wrong * 2) << "unknown email " << unknown << " ms, wrong password " << wrong << " ms";
}

}  // namespace
}  // namespace secretsd::it
