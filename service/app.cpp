#include "app.h"

#include <algorithm>
#include <thread>
#include <utility>

#include "auth/api_keys.h"
#include "auth/credential_store.h"
#include "auth/user_store.h"
#include "db/tx.h"
#include "secrets/statements.h"

namespace secretsd {
namespace {

// Statements are registered on every new connection; libpqxx prepares each
// on the server the first time it is used.
void prepare_connection(pqxx::connection& conn) {
  db::prepare_context_statement(conn);
  user_store::prepare_statements(conn);
  credential_store::prepare_statements(conn);
  secrets::prepare_secrets_statements(conn);
}

std::unique_ptr<RateLimiter> limiter(int events, std::chrono::seconds window) {
  return std::make_unique<RateLimiter>(RateLimit{static_cast<std::uint32_t>(events), window});
}

}  // namespace

std::unique_ptr<App> make_app(Config config) {
  auto app = std::make_unique<App>();
  app->pool = std::make_unique<db::ConnectionPool>(
      config.database_url, static_cast<std::size_t>(config.pool_size), prepare_connection);
  const std::size_t hashing = config.argon2_concurrency > 0
                                  ? static_cast<std::size_t>(config.argon2_concurrency)
                                  : std::max(1u, std::thread::hardware_concurrency());
  app->hasher = std::make_unique<PasswordHasher>(config.argon2, hashing);
  app->login_per_account = limiter(config.login_rate_per_account, std::chrono::minutes(1));
  app->login_per_address = limiter(config.login_rate_per_address, std::chrono::minutes(1));
  app->register_per_address = limiter(config.register_rate_per_address, std::chrono::hours(1));
  app->credential_pepper = derive_subkey(config.auth_secret_key, "credential-pepper");
  app->config = std::move(config);
  return app;
}

}  // namespace secretsd
