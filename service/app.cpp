#include "app.h"

#include <utility>

#include "crypto/keyed_hash.h"

namespace secretsd {

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
  app->credential_pepper = derive_subkey(config.auth_secret_key, "credential-pepper");
  app->config = std::move(config);
  return app;
}

}  // namespace secretsd
