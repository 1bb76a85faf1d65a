#include "accounts/rate_limiter.h"

#include <stdexcept>

#include "crypto/keyed_hash.h"
#include "db/statement.h"
#include "metrics/metrics.h"

namespace secretsd::accounts {

RateLimiter::RateLimiter(std::string name, RateLimit limit, std::string key_pepper)
    : name_(std::move(name)),
      bucket_(name_ + "/" + std::to_string(limit.max_events) + "/" +
              std::to_string(limit.window.count()) + "s"),
      limit_(limit), pepper_(std::move(key_pepper)),
      window_(std::to_string(limit.window.count()) + " seconds") {
  if (limit_.max_events == 0 || limit_.window.count() <= 0 || pepper_.empty() || name_.empty()) {
    throw std::invalid_argument("rate limit needs a name, events, a window and a pepper");
  }
}

std::string RateLimiter::key_hash(const std::string& key) const {
  // The limit's name is part of the hashed text, so one key has unrelated
  // hashes in different limits.
  return keyed_hash(name_ + '\n' + key, pepper_);
}

std::int64_t RateLimiter::take(db::Lease& lease, const std::string& key) const {
  auto r = db::exec_params(lease, "SELECT secretsd.rate_limit_take($1, $2, $3::int, $4::interval)",
                           bucket_, key_hash(key), static_cast<long>(limit_.max_events), window_);
  const std::int64_t wait = r.at(0)[0].as<std::int64_t>();
  if (wait > 0) metrics::global().rate_limit_refused(name_);
  return wait;
}

void RateLimiter::reset(db::Lease& lease, const std::string& key) const {
  db::exec_params(lease, "SELECT secretsd.rate_limit_reset($1, $2)", bucket_, key_hash(key));
}

}  // namespace secretsd::accounts
