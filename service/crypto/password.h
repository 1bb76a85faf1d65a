// Password hashing with argon2id (libsodium's crypto_pwhash_str_alg). The
// encoded hash carries its own salt and cost, so old hashes keep verifying
// after the cost is raised; needs_rehash() tells login to upgrade them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace secretsd {

struct PasswordCost {
  std::uint64_t opslimit = 0;  // argon2 passes (t)
  std::size_t memlimit = 0;    // bytes (m)

  // 64 MiB, 3 passes: above every OWASP argon2id row (minimum 19 MiB, t=2).
  // Peak memory is memlimit x the hasher's slots (SECRETSD_ARGON2_CONCURRENCY).
  static PasswordCost production_default();
  // OWASP's floor: 19 MiB, 2 passes.
  static PasswordCost owasp_minimum();
};

// True if memlimit >= 19 MiB and opslimit >= 2.
bool meets_owasp_minimum(const PasswordCost& cost);

// True if libsodium's argon2id accepts these limits at all.
bool is_valid_argon2id_cost(const PasswordCost& cost);

// Returns the "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string. Throws
// std::invalid_argument for costs outside libsodium's range and
// std::runtime_error if hashing fails (out of memory).
std::string hash_password(std::string_view password, const PasswordCost& cost);

// Constant-time check of `password` against an encoded hash. False for a
// wrong password and for a malformed hash. Never throws.
bool verify_password(std::string_view password, std::string_view encoded_hash) noexcept;

// True if the hash was made with a different cost or algorithm, or is
// malformed. Never throws.
bool needs_rehash(std::string_view encoded_hash, const PasswordCost& cost) noexcept;

// At most `limit` argon2 computations at once: each takes memlimit bytes,
// so without a bound a burst of registrations or logins on 64 workers could
// ask for 64 x 64 MiB. Callers beyond the limit wait their turn.
class HashingSlots {
 public:
  explicit HashingSlots(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {}
  HashingSlots(const HashingSlots&) = delete;
  HashingSlots& operator=(const HashingSlots&) = delete;

  class Slot {
   public:
    explicit Slot(HashingSlots& slots);
    ~Slot();
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    HashingSlots& slots_;
  };

  std::size_t limit() const { return limit_; }
  std::size_t in_use() const;

 private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::size_t in_use_ = 0;
};

// Bundles a cost with a precomputed hash of a random password, so a login
// for an unknown account spends as long as one with a wrong password.
// Every hash and verify takes one of `max_concurrent` slots.
class PasswordHasher {
 public:
  // Hashes a random password once: takes as long as one hash_password().
  explicit PasswordHasher(PasswordCost cost, std::size_t max_concurrent = 4);

  const PasswordCost& cost() const { return cost_; }
  std::string hash(std::string_view password) const;
  bool verify(std::string_view password, std::string_view encoded_hash) const noexcept;
  bool needs_rehash(std::string_view encoded_hash) const noexcept;
  // Does the work of a failed verify(); the result is always "no match".
  void dummy_verify(std::string_view password) const noexcept;

 private:
  PasswordCost cost_;
  std::string dummy_hash_;
  mutable HashingSlots slots_;
};

}  // namespace secretsd
