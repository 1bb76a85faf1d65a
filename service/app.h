// What every feature shares, built once in main() and passed by reference:
// the configuration, the connection pools, the database's availability and
// the credential pepper. What one feature alone uses it builds itself when
// its routes are registered (auth's hasher and rate limits, the settings
// service). This and the metrics are the service's only long-lived state.
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

struct App {
  Config config;
  // Before the pool, which reports to it (and so is destroyed first).
  std::unique_ptr<db::Availability> availability;
  std::unique_ptr<db::ConnectionPool> pool;
  // Standbys for reads of secrets (SECRETSD_READ_DATABASE_URL); null = none.
  std::unique_ptr<db::ConnectionPool> read_pool;
  std::unique_ptr<db::RecentWriters> recent_writers;
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
