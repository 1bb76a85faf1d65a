// What the authenticator learnt about a user's session from PostgreSQL
// (secretsd.check_session), kept for at most a short while (1 s) so that a
// burst of requests costs one round trip, while a session ended on another
// instance fails there within that while. A session ended on this instance
// is forgotten at once. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace secretsd::identity {

// A live session as checked, for one household.
struct SessionState {
  std::string household_id;  // the household the role below is for
  std::string role;          // the user's role there; empty: not a member
  bool instance_admin = false;
  bool second_factor = false;
  // The household asks for two-factor sign-in (0015); false when not a member.
  bool require_two_factor = false;
};

class SessionCache {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `max_age`: how long a check is trusted. `clock`: the time source (tests
  // pass a fake one).
  explicit SessionCache(std::chrono::milliseconds max_age = std::chrono::seconds(1),
                        Clock clock = [] { return std::chrono::steady_clock::now(); });

  // The time to pass to remember(): taken before the check is sent, so an
  // entry's age counts from before PostgreSQL answered.
  std::chrono::steady_clock::time_point now() const { return clock_(); }

  // The state of `session_id` for `household_id` when checked less than
  // max_age ago, else nothing.
  std::optional<SessionState> find(const std::string& session_id,
                                   const std::string& household_id) const;

  // Records a live session of `user_id` as checked at `checked_at`.
  void remember(const std::string& session_id, const std::string& user_id, SessionState state,
                std::chrono::steady_clock::time_point checked_at);

  // Drops one session, or every session of a user (ended on this instance).
  void forget(const std::string& session_id);
  void forget_user(const std::string& user_id);

  std::size_t size() const;

 private:
  struct Entry {
    std::string user_id;
    SessionState state;
    std::chrono::steady_clock::time_point checked_at;
  };
  // Past this many entries, expired ones are swept on the next remember().
  static constexpr std::size_t kSweepAbove = 4096;

  const std::chrono::milliseconds max_age_;
  const Clock clock_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace secretsd::identity
