// Everything a route needs, built once in main() and passed by reference:
// the configuration, the connection pool and the shared, thread-safe
// helpers. This is the service's only long-lived state.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "db/availability.h"
#include "db/pool.h"
#include "db/recent_writers.h"

namespace secretsd {

// Owned here, used only by the auth routes (which include their headers).
class PasswordHasher;
class RateLimiter;

struct App {
  App();
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Config config;
  // Before the pool, which reports to it (and so is destroyed first).
  std::unique_ptr<db::Availability> availability;
  std::unique_ptr<db::ConnectionPool> pool;
  // Standbys for reads of secrets (SECRETSD_READ_DATABASE_URL); null = none.
  std::unique_ptr<db::ConnectionPool> read_pool;
  std::unique_ptr<db::RecentWriters> recent_writers;
  std::unique_ptr<PasswordHasher> hasher;
  // Counted in PostgreSQL, shared by every instance (auth/rate_limiter.h).
  std::unique_ptr<RateLimiter> login_per_account;
  std::unique_ptr<RateLimiter> login_per_address;
  std::unique_ptr<RateLimiter> register_per_address;  // per hour
  // HMAC key for stored credential hashes (API keys, app keys, refresh
  // tokens, invite codes): derive_subkey(AUTH_SECRET_KEY, "credential-pepper").
  std::string credential_pepper;
  // A connection of the pool, waiting at most db::kPoolWait (then 503).
  db::Lease connection() { return pool->acquire(); }
};

// Builds the App from a validated Config (opens no connection yet).
// `log_line` receives the database's lost/back JSON lines (thread-safe).
std::unique_ptr<App> make_app(Config config,
                              std::function<void(const std::string&)> log_line = {});

}  // namespace secretsd
