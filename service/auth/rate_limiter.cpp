#include "auth/rate_limiter.h"

#include <algorithm>
#include <stdexcept>

namespace secretsd {

RateLimiter::RateLimiter(RateLimit limit, std::size_t max_entries, Clock clock)
    : max_entries_(max_entries), clock_(std::move(clock)) {
  if (limit.max_events == 0 || limit.window.count() <= 0 || max_entries_ == 0 || !clock_) {
    throw std::invalid_argument("rate limit needs events, a window, capacity and a clock");
  }
  const Nanos window = limit.window;
  interval_ = window / limit.max_events;
  tolerance_ = window - interval_;
}

RateLimiter::Nanos RateLimiter::wait_needed(const Entry& entry, TimePoint now) const {
  // The bucket is empty once full_at runs more than a window minus one
  // interval ahead of now; the excess is how long until one event refills.
  const Nanos ahead = entry.full_at - now;
  return std::max(Nanos::zero(), ahead - tolerance_);
}

void RateLimiter::evict_oldest() {
  buckets_.erase(lru_.back());
  lru_.pop_back();
}

RateLimiter::Entry& RateLimiter::entry_for(const std::string& key, TimePoint now) {
  if (const auto it = buckets_.find(key); it != buckets_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru_position);
    return it->second;
  }
  if (buckets_.size() >= max_entries_) evict_oldest();
  lru_.push_front(key);
  return buckets_.emplace(key, Entry{now, lru_.begin()}).first->second;
}

bool RateLimiter::allow(const std::string& key) {
  const TimePoint now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& entry = entry_for(key, now);
  if (wait_needed(entry, now) > Nanos::zero()) return false;
  entry.full_at = std::max(entry.full_at, now) + interval_;
  return true;
}

std::int64_t RateLimiter::retry_after_seconds(const std::string& key) const {
  const TimePoint now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  const auto wait = wait_needed(it->second, now);
  return std::chrono::ceil<std::chrono::seconds>(wait).count();
}

void RateLimiter::reset(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = buckets_.find(key);
  if (it == buckets_.end()) return;
  lru_.erase(it->second.lru_position);
  buckets_.erase(it);
}

std::size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return buckets_.size();
}

}  // namespace secretsd
