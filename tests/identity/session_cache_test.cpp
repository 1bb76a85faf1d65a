// identity::SessionCache: a check is trusted for less than its max age (1 s
// in secretsd), for the household it was made for, and a session or a
// user's sessions ended on this instance are dropped at once. A fake clock
// drives the ages; the last test hammers it from several threads.
#include "identity/session_cache.h"

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace secretsd::identity {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

struct FakeClock {
  std::atomic<TimePoint::rep> ticks{0};
  TimePoint now() const { return TimePoint(TimePoint::duration(ticks.load())); }
  void advance(std::chrono::nanoseconds d) { ticks += std::chrono::duration_cast<TimePoint::duration>(d).count(); }
};

SessionState state_for(const std::string& household, const std::string& role) {
  SessionState s;
  s.household_id = household;
  s.role = role;
  return s;
}

class SessionCacheTest : public ::testing::Test {
 protected:
  FakeClock clock;
  SessionCache cache{1s, [this] { return clock.now(); }};
};

TEST_F(SessionCacheTest, TrustsACheckForLessThanItsMaxAge) {
  EXPECT_FALSE(cache.find("s1", "h1"));
  cache.remember("s1", "u1", state_for("h1", "writer"), cache.now());
  auto hit = cache.find("s1", "h1");
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->role, "writer");
  clock.advance(999ms);
  EXPECT_TRUE(cache.find("s1", "h1"));
  clock.advance(1ms);
  EXPECT_FALSE(cache.find("s1", "h1")) << "a check exactly 1 s old is no longer trusted";
}

TEST_F(SessionCacheTest, AgeCountsFromBeforeTheCheckWasSent) {
  const TimePoint sent = cache.now();
  clock.advance(700ms);  // PostgreSQL took its time answering
  cache.remember("s1", "u1", state_for("h1", "reader"), sent);
  clock.advance(300ms);
  EXPECT_FALSE(cache.find("s1", "h1"));
}

TEST_F(SessionCacheTest, AnotherHouseholdIsAMiss) {
  cache.remember("s1", "u1", state_for("h1", "owner"), cache.now());
  EXPECT_FALSE(cache.find("s1", "h2"));
  EXPECT_FALSE(cache.find("s2", "h1"));
  cache.remember("s1", "u1", state_for("h2", ""), cache.now());
  EXPECT_FALSE(cache.find("s1", "h1")) << "the newest check replaces the entry";
  ASSERT_TRUE(cache.find("s1", "h2"));
  EXPECT_EQ(cache.find("s1", "h2")->role, "");
}

TEST_F(SessionCacheTest, ForgettingASessionOrAUserIsImmediate) {
  cache.remember("s1", "u1", state_for("h", "owner"), cache.now());
  cache.remember("s2", "u1", state_for("h", "owner"), cache.now());
  cache.remember("s3", "u2", state_for("h", "owner"), cache.now());
  cache.forget("s1");
  EXPECT_FALSE(cache.find("s1", "h"));
  EXPECT_TRUE(cache.find("s2", "h"));
  cache.forget_user("u1");
  EXPECT_FALSE(cache.find("s2", "h"));
  EXPECT_TRUE(cache.find("s3", "h"));
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(SessionCacheTest, ExpiredEntriesAreSweptWhenTheCacheGrows) {
  for (int i = 0; i < 5000; ++i) cache.remember("s" + std::to_string(i), "u", state_for("h", "reader"), cache.now());
  clock.advance(2s);
  cache.remember("fresh", "u", state_for("h", "reader"), cache.now());
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(SessionCacheTest, ConcurrentUseIsSafe) {
  std::vector<std::thread> threads;
  std::atomic<int> hits{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string id = "s" + std::to_string((i + t) % 50);
        cache.remember(id, "u" + std::to_string(i % 3), state_for("h", "writer"), cache.now());
        if (cache.find(id, "h")) ++hits;
        if (i % 7 == 0) cache.forget(id);
        if (i % 97 == 0) cache.forget_user("u1");
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.size(), 50u);
}

}  // namespace
}  // namespace secretsd::identity
