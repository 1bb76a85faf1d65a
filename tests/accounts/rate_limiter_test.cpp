// The shared rate limiter against a real PostgreSQL (migrations/0006 and
// 0010):
// every connection here stands for another secretsd instance.
#include "accounts/rate_limiter.h"

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "db/pool.h"
#include "db_test_support.h"

namespace secretsd {
namespace {

using accounts::RateLimiter;

using namespace std::chrono_literals;
using std::chrono::seconds;

std::string migration_sql(const std::string& file) {
  const std::string here = __FILE__;
  const std::string root = here.substr(0, here.rfind("/tests/"));
  std::ifstream in(root + "/migrations/" + file);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class RateLimiterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_DATABASE();
    scratch_ = std::make_unique<db::testing::ScratchDatabase>();
    pqxx::connection conn(scratch_->conninfo());
    pqxx::work tx(conn);
    tx.exec("CREATE SCHEMA secretsd");
    tx.exec(migration_sql("0006_rate_limits.sql"));
    tx.exec(migration_sql("0010_rate_limit_sweep_skips_locked.sql"));
    tx.commit();
    pool_ = std::make_unique<db::ConnectionPool>(scratch_->conninfo(), 8);
  }
  void TearDown() override {
    pool_.reset();
    scratch_.reset();
  }

  db::Lease lease() { return pool_->acquire(5s); }

  std::unique_ptr<db::testing::ScratchDatabase> scratch_;
  std::unique_ptr<db::ConnectionPool> pool_;
  const std::string pepper_ = "test-pepper-test-pepper-test-pepper";
};

TEST_F(RateLimiterTest, AllowsBurstThenRefuses) {
  RateLimiter limiter("login_account", {10, seconds(60)}, pepper_);
  auto l = lease();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(limiter.take(l, "alice"), 0) << i;
  // One event refills every 6 s: the wait is 6 s, less what a slow machine
  // spent on the takes above.
  const auto wait = limiter.take(l, "alice");
  EXPECT_GE(wait, 5);
  EXPECT_LE(wait, 6);
  EXPECT_LE(limiter.take(l, "alice"), wait);  // refusals take nothing
  EXPECT_GE(limiter.take(l, "alice"), wait - 1);
}

TEST_F(RateLimiterTest, RefillsOneEventPerInterval) {
  RateLimiter limiter("refill", {2, seconds(2)}, pepper_);
  auto l = lease();
  EXPECT_EQ(limiter.take(l, "k"), 0);
  EXPECT_EQ(limiter.take(l, "k"), 0);
  EXPECT_EQ(limiter.take(l, "k"), 1);
  // One second passes: the bucket's clock moves back instead of the test
  // sleeping, so a slow machine cannot refill a second event meanwhile.
  pqxx::nontransaction(l.conn()).exec(
      "UPDATE secretsd.rate_limits SET full_at = full_at - interval '1 second'");
  EXPECT_EQ(limiter.take(l, "k"), 0);
  EXPECT_EQ(limiter.take(l, "k"), 1);
}

TEST_F(RateLimiterTest, KeysAndLimitsAreIndependent) {
  RateLimiter a("limit_a", {1, seconds(60)}, pepper_);
  RateLimiter b("limit_b", {1, seconds(60)}, pepper_);
  auto l = lease();
  EXPECT_EQ(a.take(l, "x"), 0);
  EXPECT_GE(a.take(l, "x"), 59);  // 60 s, less the time the first take took
  EXPECT_EQ(a.take(l, "y"), 0);
  EXPECT_EQ(b.take(l, "x"), 0);
}

// Instances configured alike share a bucket; another rate counts apart.
TEST_F(RateLimiterTest, BucketsBelongToOneRate) {
  RateLimiter one("register_address", {2, seconds(3600)}, pepper_);
  RateLimiter same("register_address", {2, seconds(3600)}, pepper_);
  RateLimiter other("register_address", {100000, seconds(3600)}, pepper_);
  auto l = lease();
  EXPECT_EQ(other.take(l, "127.0.0.1"), 0);
  EXPECT_EQ(one.take(l, "127.0.0.1"), 0);
  EXPECT_EQ(same.take(l, "127.0.0.1"), 0);
  EXPECT_GT(one.take(l, "127.0.0.1"), 0);
}

TEST_F(RateLimiterTest, ResetForgetsKey) {
  RateLimiter limiter("reset", {1, seconds(60)}, pepper_);
  auto l = lease();
  EXPECT_EQ(limiter.take(l, "a"), 0);
  EXPECT_GT(limiter.take(l, "a"), 0);
  limiter.reset(l, "a");
  limiter.reset(l, "never-seen");
  EXPECT_EQ(limiter.take(l, "a"), 0);
}

// Separate connections (as separate secretsd instances would be) share one
// bucket, and never both take its last event.
TEST_F(RateLimiterTest, SharedAcrossConnectionsUnderContention) {
  RateLimiter limiter("shared", {100, seconds(60)}, pepper_);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto l = lease();
      for (int i = 0; i < 25; ++i) {
        if (limiter.take(l, "shared-key") == 0) ++allowed;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST_F(RateLimiterTest, StoresOnlyAKeyedHash) {
  RateLimiter limiter("login_account", {5, seconds(60)}, pepper_);
  auto l = lease();
  limiter.take(l, "alice@example.com");
  pqxx::nontransaction tx(l.conn());
  auto rows = tx.exec("SELECT limit_name, key_hash FROM secretsd.rate_limits");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0][0].as<std::string>(), "login_account/5/60s");
  EXPECT_EQ(rows[0][1].as<std::string>().find("alice"), std::string::npos);
}

// Takes sweep spent buckets now and then while holding their own bucket's
// row; a sweep that waited for rows other takes hold could wait in a cycle
// (a 40P01 deadlock failed a login in CI). Here one transaction holds a
// spent bucket: the sweep must leave it and delete the rest at once.
TEST_F(RateLimiterTest, TheSweepNeverWaitsForABucketInUse) {
  auto holder = lease();
  auto sweeper = lease();
  {
    pqxx::nontransaction setup(sweeper.conn());
    setup.exec("INSERT INTO secretsd.rate_limits VALUES "
               "('spent', 'held', now() - interval '1 hour'), "
               "('spent', 'free', now() - interval '1 hour'), "
               "('live', 'k', now() + interval '1 hour')");
  }
  pqxx::work hold(holder.conn());
  hold.exec("SELECT 1 FROM secretsd.rate_limits WHERE key_hash = 'held' FOR UPDATE");

  pqxx::nontransaction sweep(sweeper.conn());
  sweep.exec("SET lock_timeout = '2s'");
  EXPECT_NO_THROW(sweep.exec("SELECT secretsd.rate_limit_sweep()"));
  auto left = sweep.exec("SELECT key_hash FROM secretsd.rate_limits ORDER BY key_hash");
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0][0].as<std::string>(), "held");
  EXPECT_EQ(left[1][0].as<std::string>(), "k");
  hold.commit();
}

TEST(RateLimiter, RejectsNonsenseLimits) {
  EXPECT_THROW(RateLimiter("x", {0, seconds(60)}, "p"), std::invalid_argument);
  EXPECT_THROW(RateLimiter("x", {1, seconds(0)}, "p"), std::invalid_argument);
  EXPECT_THROW(RateLimiter("x", {1, seconds(60)}, ""), std::invalid_argument);
  EXPECT_THROW(RateLimiter("", {1, seconds(60)}, "p"), std::invalid_argument);
}

}  // namespace
}  // namespace secretsd
