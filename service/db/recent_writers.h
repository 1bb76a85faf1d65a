// Read-your-writes with read replicas: who wrote recently. After a write,
// that caller's reads go to the primary for a bounded window (long enough
// for a standby to replay the write), so a caller never reads a standby
// older than its own write. Per process: a caller whose next read reaches
// another instance is not covered (README, "Running several instances").
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace secretsd::db {

class RecentWriters {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RecentWriters(std::chrono::milliseconds window, std::size_t max_entries = 100000)
      : window_(window), max_entries_(max_entries) {}

  void wrote(const std::string& caller);
  // True while `caller` wrote less than a window ago.
  bool recently_wrote(const std::string& caller) const;

 private:
  void forget_expired(Clock::time_point now);

  const std::chrono::milliseconds window_;
  const std::size_t max_entries_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Clock::time_point> until_;  // caller -> end of its window
};

}  // namespace secretsd::db
