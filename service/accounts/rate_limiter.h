// Rate limits shared by every secretsd instance: each limit is a GCRA token
// bucket of max_events refilled evenly over `window`, kept in PostgreSQL
// (secretsd.rate_limits, migrations/0006_rate_limits.sql), so N instances
// behind a load balancer enforce the same limit as one, and a restart
// forgets nothing. Keys (an e-mail, an address) are stored only as a keyed
// hash. Each call is one round trip on the caller's leased connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "db/pool.h"

namespace secretsd::accounts {

struct RateLimit {
  std::uint32_t max_events = 10;    // bucket size: burst allowed at once
  std::chrono::seconds window{60};  // time to refill a whole bucket
};

class RateLimiter {
 public:
  // `name` identifies the limit in the table and in metrics (a fixed word,
  // e.g. "login_account"). Throws std::invalid_argument if max_events or
  // window is 0, or the pepper is empty.
  RateLimiter(std::string name, RateLimit limit, std::string key_pepper);

  // Takes one event from `key`'s bucket: 0 when taken, else the whole
  // seconds (at least 1) until one would be (nothing is taken).
  std::int64_t take(db::Lease& lease, const std::string& key) const;

  // Forgets `key`, e.g. after a successful login.
  void reset(db::Lease& lease, const std::string& key) const;

  const std::string& name() const { return name_; }

 private:
  std::string key_hash(const std::string& key) const;

  std::string name_;
  // The bucket's name in the table: the limit's name and its rate
  // ("login_account/10/60s"). A GCRA state only means something under the
  // rate that wrote it, so instances configured alike share buckets and an
  // instance with another rate (a rolling configuration change) counts apart.
  std::string bucket_;
  RateLimit limit_;
  std::string pepper_;
  std::string window_;  // the window as a PostgreSQL interval literal
};

}  // namespace secretsd::accounts
