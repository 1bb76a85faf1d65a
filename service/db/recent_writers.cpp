#include "db/recent_writers.h"

namespace secretsd::db {

void RecentWriters::forget_expired(Clock::time_point now) {
  for (auto it = until_.begin(); it != until_.end();) {
    it = it->second <= now ? until_.erase(it) : std::next(it);
  }
}

void RecentWriters::wrote(const std::string& caller) {
  const auto now = Clock::now();
  std::lock_guard<std::mutex> lock(mutex_);
  if (until_.size() >= max_entries_) forget_expired(now);
  // Still full of live windows: the oldest caller loses read-your-writes
  // rather than memory growing without bound; reads stay correct, only
  // possibly older.
  if (until_.size() >= max_entries_) until_.erase(until_.begin());
  until_[caller] = now + window_;
}

bool RecentWriters::recently_wrote(const std::string& caller) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = until_.find(caller);
  return it != until_.end() && it->second > Clock::now();
}

}  // namespace secretsd::db
