#include "crypto/password.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace secretsd {
namespace {

// Cheap enough that the suite stays fast; never used outside tests.
PasswordCost fast_cost() { return PasswordCost{1, crypto_pwhash_argon2id_MEMLIMIT_MIN * 8}; }

TEST(Password, ProductionDefaultMeetsOwaspMinimum) {
  const auto cost = PasswordCost::production_default();
  EXPECT_GE(cost.memlimit, std::size_t{19} * 1024 * 1024);
  EXPECT_GE(cost.opslimit, 2u);
  EXPECT_TRUE(meets_owasp_minimum(cost));
  EXPECT_TRUE(is_valid_argon2id_cost(cost));
  EXPECT_TRUE(meets_owasp_minimum(PasswordCost::owasp_minimum()));
  EXPECT_FALSE(meets_owasp_minimum(fast_cost()));
}

TEST(Password, HashThenVerify) {
  const auto hash = hash_password("correct horse battery staple", fast_cost());
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_password("correct horse battery staple", hash));
  EXPECT_FALSE(verify_password("correct horse battery stapl", hash));
  EXPECT_FALSE(verify_password("", hash));
}

TEST(Password, SaltedSoSamePasswordHashesDiffer) {
  EXPECT_NE(hash_password("same", fast_cost()), hash_password("same", fast_cost()));
}

TEST(Password, HandlesEmbeddedNulAndNonAscii) {
  const std::string password("p\0ss\xc3\xa9", 6);
  const auto hash = hash_password(password, fast_cost());
  EXPECT_TRUE(verify_password(password, hash));
  EXPECT_FALSE(verify_password("p", hash));
}

TEST(Password, MalformedHashesNeverVerify) {
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password("x", "not a hash"));
  EXPECT_FALSE(verify_password("x", std::string(500, '$')));
  auto hash = hash_password("x", fast_cost());
  EXPECT_FALSE(verify_password("x", hash.substr(0, hash.size() - 3)));
  hash.insert(5, 1, '\0');
  EXPECT_FALSE(verify_password("x", hash));
}

TEST(Password, NeedsRehashWhenCostChanges) {
  const auto hash = hash_password("pw", fast_cost());
  EXPECT_FALSE(needs_rehash(hash, fast_cost()));
  EXPECT_TRUE(needs_rehash(hash, PasswordCost{2, fast_cost().memlimit}));
  EXPECT_TRUE(needs_rehash(hash, PasswordCost{1, fast_cost().memlimit * 2}));
  EXPECT_TRUE(needs_rehash("garbage", fast_cost()));
  EXPECT_TRUE(needs_rehash("", fast_cost()));
}

TEST(Password, RejectsInvalidCost) {
  EXPECT_THROW(hash_password("pw", PasswordCost{0, fast_cost().memlimit}), std::invalid_argument);
  EXPECT_THROW(hash_password("pw", PasswordCost{1, 1024}), std::invalid_argument);
}

TEST(Password, HasherUsesItsCost) {
  const PasswordHasher hasher(fast_cost());
  const auto hash = hasher.hash("secret words");
  EXPECT_TRUE(hasher.verify("secret words", hash));
  EXPECT_FALSE(hasher.verify("other words", hash));
  EXPECT_FALSE(hasher.needs_rehash(hash));
  EXPECT_EQ(hasher.cost().opslimit, fast_cost().opslimit);
  EXPECT_EQ(hasher.cost().memlimit, fast_cost().memlimit);
}

// An unknown email must cost what a wrong password costs: dummy_verify
// runs a real argon2 verification at the hasher's cost. Timed against
// verify() with a cost large enough (8 MiB) to dwarf scheduling noise; the
// two kinds alternate, so a burst of load on the machine slows both, and
// the medians of 7 of each get a generous bound.
TEST(Password, DummyVerifyCostsWhatAWrongPasswordCosts) {
  const PasswordHasher hasher(PasswordCost{2, 8u << 20});
  const std::string stored = hasher.hash("the real password");
  auto timed_ms = [](auto&& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<double> wrong_ms, unknown_ms;
  for (int i = 0; i < 7; ++i) {
    wrong_ms.push_back(timed_ms([&] { EXPECT_FALSE(hasher.verify("a wrong password", stored)); }));
    unknown_ms.push_back(timed_ms([&] { hasher.dummy_verify("a wrong password"); }));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double wrong = median(wrong_ms);
  const double unknown = median(unknown_ms);
  EXPECT_GT(wrong, 1.0) << "the cost is too small to compare";
  EXPECT_GT(unknown, wrong * 0.3) << "dummy " << unknown << " ms, wrong password " << wrong << " ms";
  EXPECT_LT(unknown, wrong * 3.0) << "dummy " << unknown << " ms, wrong password " << wrong << " ms";
}

// Peak memory is memlimit x hashes running at once, so the hasher bounds
// them: 8 threads hashing through a 2-slot hasher never run more than 2.
TEST(HashingSlots, NeverMoreHoldersThanTheLimit) {
  HashingSlots slots(2);
  std::atomic<int> inside{0};
  std::atomic<int> peak{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        HashingSlots::Slot slot(slots);
        const int now = ++inside;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        --inside;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(peak.load(), 2);  // reached, never exceeded
  EXPECT_EQ(slots.in_use(), 0u);
}

TEST(HashingSlots, ConcurrentHashesThroughOneSlotAllVerify) {
  const PasswordHasher hasher(fast_cost(), 1);
  std::vector<std::string> hashes(6);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    threads.emplace_back([&, i] { hashes[i] = hasher.hash("pw-" + std::to_string(i)); });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    EXPECT_TRUE(hasher.verify("pw-" + std::to_string(i), hashes[i])) << i;
  }
}

}  // namespace
}  // namespace secretsd
