#include "app.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "auth/rate_limiter.h"
#include "crypto/keyed_hash.h"
#include "crypto/password.h"

namespace secretsd {
namespace {

std::unique_ptr<RateLimiter> limiter(const char* name, int events, std::chrono::seconds window,
                                     const std::string& pepper) {
  return std::make_unique<RateLimiter>(name, RateLimit{static_cast<std::uint32_t>(events), window},
                                       pepper);
}

}  // namespace

App::App() = default;
App::~App() = default;

std::unique_ptr<App> make_app(Config config, std::function<void(const std::string&)> log_line) {
  auto app = std::make_unique<App>();
  app->availability = std::make_unique<db::Availability>(std::move(log_line));
  app->pool = std::make_unique<db::ConnectionPool>(
      config.database_url, static_cast<std::size_t>(config.pool_size), db::ConnectionPool::OnConnect{},
      app->availability.get());
  if (!config.read_database_url.empty()) {
    // Not reported to `availability`: that tracks the primary, which takes
    // the writes; a standby that fails sends reads back to the primary.
    app->read_pool = std::make_unique<db::ConnectionPool>(
        config.read_database_url, static_cast<std::size_t>(config.pool_size));
  }
  app->recent_writers =
      std::make_unique<db::RecentWriters>(std::chrono::milliseconds(config.read_your_writes_ms));
  const std::size_t hashing = config.argon2_concurrency > 0
                                  ? static_cast<std::size_t>(config.argon2_concurrency)
                                  : std::max(1u, std::thread::hardware_concurrency());
  app->hasher = std::make_unique<PasswordHasher>(config.argon2, hashing);
  app->credential_pepper = derive_subkey(config.auth_secret_key, "credential-pepper");
  const std::string& pepper = app->credential_pepper;
  app->login_per_account =
      limiter("login_account", config.login_rate_per_account, std::chrono::minutes(1), pepper);
  app->login_per_address =
      limiter("login_address", config.login_rate_per_address, std::chrono::minutes(1), pepper);
  app->register_per_address =
      limiter("register_address", config.register_rate_per_address, std::chrono::hours(1), pepper);
  app->config = std::move(config);
  return app;
}

}  // namespace secretsd
