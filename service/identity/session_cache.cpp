#include "identity/session_cache.h"

#include <utility>

namespace secretsd::identity {

SessionCache::SessionCache(std::chrono::milliseconds max_age, Clock clock)
    : max_age_(max_age), clock_(std::move(clock)) {}

std::optional<SessionState> SessionCache::find(const std::string& session_id,
                                               const std::string& household_id) const {
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(session_id);
  if (it == entries_.end()) return std::nullopt;
  const Entry& entry = it->second;
  if (now - entry.checked_at >= max_age_ || now < entry.checked_at) return std::nullopt;
  if (entry.state.household_id != household_id) return std::nullopt;
  return entry.state;
}

void SessionCache::remember(const std::string& session_id, const std::string& user_id,
                            SessionState state, std::chrono::steady_clock::time_point checked_at) {
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() > kSweepAbove) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = now - it->second.checked_at >= max_age_ ? entries_.erase(it) : std::next(it);
    }
  }
  entries_[session_id] = Entry{user_id, std::move(state), checked_at};
}

void SessionCache::forget(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.erase(session_id);
}

void SessionCache::forget_user(const std::string& user_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = it->second.user_id == user_id ? entries_.erase(it) : std::next(it);
  }
}

std::size_t SessionCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

}  // namespace secretsd::identity
