// Per-key rate limit (e.g. login attempts per account and per address):
// a token bucket of max_events refilled evenly over `window`, implemented as
// GCRA in integer nanoseconds so refills are exact. Memory is bounded: past
// max_entries the least recently used key is dropped, which at worst forgets
// that key's recent attempts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace secretsd {

struct RateLimit {
  std::uint32_t max_events = 10;           // bucket size: burst allowed at once
  std::chrono::seconds window{60};         // time to refill a whole bucket
};

class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // Throws std::invalid_argument if max_events, window or max_entries is 0.
  explicit RateLimiter(RateLimit limit, std::size_t max_entries = 100000,
                       Clock clock = [] { return std::chrono::steady_clock::now(); });

  // Takes one event from `key`'s bucket; false (and nothing taken) if empty.
  bool allow(const std::string& key);

  // Whole seconds (rounded up) until allow(key) would succeed; 0 if now.
  std::int64_t retry_after_seconds(const std::string& key) const;

  // Forgets `key`, e.g. after a successful login.
  void reset(const std::string& key);

  std::size_t size() const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  using Nanos = std::chrono::nanoseconds;

  struct Entry {
    // Theoretical arrival time: when the bucket would be full again.
    TimePoint full_at;
    std::list<std::string>::iterator lru_position;
  };

  Nanos wait_needed(const Entry& entry, TimePoint now) const;
  Entry& entry_for(const std::string& key, TimePoint now);
  void evict_oldest();

  std::size_t max_entries_;
  Clock clock_;
  Nanos interval_;   // window / max_events: one event's worth of refill
  Nanos tolerance_;  // window - interval_: how far full_at may run ahead
  mutable std::mutex mutex_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, Entry> buckets_;
};

}  // namespace secretsd
