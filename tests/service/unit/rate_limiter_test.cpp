#include "auth/rate_limiter.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace secretsd {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A clock the test moves by hand; shared so the limiter sees every advance.
class FakeClock {
 public:
  RateLimiter::Clock as_clock() const {
    return [now = now_] { return *now; };
  }
  void advance(std::chrono::steady_clock::duration by) { *now_ += by; }

 private:
  std::shared_ptr<std::chrono::steady_clock::time_point> now_ =
      std::make_shared<std::chrono::steady_clock::time_point>();
};

TEST(RateLimiter, AllowsBurstThenRefuses) {
  FakeClock clock;
  RateLimiter limiter({10, seconds(60)}, 100, clock.as_clock());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(limiter.allow("alice")) << i;
  EXPECT_FALSE(limiter.allow("alice"));
  EXPECT_FALSE(limiter.allow("alice"));  // refusals take nothing
  EXPECT_EQ(limiter.retry_after_seconds("alice"), 6);
}

TEST(RateLimiter, RefillsOneEventPerInterval) {
  FakeClock clock;
  RateLimiter limiter({10, seconds(60)}, 100, clock.as_clock());
  for (int i = 0; i < 10; ++i) limiter.allow("alice");
  clock.advance(seconds(5));
  EXPECT_EQ(limiter.retry_after_seconds("alice"), 1);
  EXPECT_FALSE(limiter.allow("alice"));
  clock.advance(milliseconds(999));
  EXPECT_EQ(limiter.retry_after_seconds("alice"), 1);  // rounds up
  clock.advance(milliseconds(1));
  EXPECT_EQ(limiter.retry_after_seconds("alice"), 0);
  EXPECT_TRUE(limiter.allow("alice"));
  EXPECT_FALSE(limiter.allow("alice"));
}

TEST(RateLimiter, FullyRefillsAfterWindowButNoMoreThanBurst) {
  FakeClock clock;
  RateLimiter limiter({3, seconds(30)}, 100, clock.as_clock());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("k"));
  EXPECT_FALSE(limiter.allow("k"));
  clock.advance(seconds(3600));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("k"));
  EXPECT_FALSE(limiter.allow("k"));
}

TEST(RateLimiter, KeysAreIndependent) {
  FakeClock clock;
  RateLimiter limiter({1, seconds(60)}, 100, clock.as_clock());
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  EXPECT_EQ(limiter.retry_after_seconds("c"), 0);
  EXPECT_EQ(limiter.retry_after_seconds("a"), 60);
}

TEST(RateLimiter, ResetForgetsKey) {
  FakeClock clock;
  RateLimiter limiter({1, seconds(60)}, 100, clock.as_clock());
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("a"));
  limiter.reset("a");
  limiter.reset("never-seen");
  EXPECT_EQ(limiter.size(), 0u);
  EXPECT_TRUE(limiter.allow("a"));
}

TEST(RateLimiter, MemoryIsBoundedByEvictingLeastRecentlyUsed) {
  FakeClock clock;
  RateLimiter limiter({1, seconds(60)}, 3, clock.as_clock());
  EXPECT_TRUE(limiter.allow("a"));
  EXPECT_TRUE(limiter.allow("b"));
  EXPECT_TRUE(limiter.allow("c"));
  EXPECT_FALSE(limiter.allow("a"));  // touches "a": "b" is now the oldest
  EXPECT_TRUE(limiter.allow("d"));   // evicts "b"
  EXPECT_EQ(limiter.size(), 3u);
  EXPECT_TRUE(limiter.allow("b"));   // forgotten, so allowed again; evicts "c"
  EXPECT_FALSE(limiter.allow("a"));
  EXPECT_FALSE(limiter.allow("d"));
  EXPECT_EQ(limiter.size(), 3u);
}

TEST(RateLimiter, RejectsNonsenseLimits) {
  EXPECT_THROW(RateLimiter({0, seconds(60)}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({1, seconds(0)}), std::invalid_argument);
  EXPECT_THROW(RateLimiter({1, seconds(60)}, 0), std::invalid_argument);
  EXPECT_THROW(RateLimiter({1, seconds(60)}, 10, nullptr), std::invalid_argument);
}

TEST(RateLimiter, ThreadSafeUnderContention) {
  FakeClock clock;
  RateLimiter limiter({100, seconds(60)}, 1000, clock.as_clock());
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (limiter.allow("shared")) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(RateLimiter, WorksWithRealClock) {
  RateLimiter limiter({2, seconds(60)});
  EXPECT_TRUE(limiter.allow("x"));
  EXPECT_TRUE(limiter.allow("x"));
  EXPECT_FALSE(limiter.allow("x"));
  EXPECT_GE(limiter.retry_after_seconds("x"), 29);
}

}  // namespace
}  // namespace secretsd
