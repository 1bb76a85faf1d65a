// Password hashing with argon2id (libsodium's crypto_pwhash_str_alg). The
// encoded hash carries its own salt and cost, so old hashes keep verifying
// after the cost is raised; needs_rehash() tells login to upgrade them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace secretsd {

struct PasswordCost {
  std::uint64_t opslimit = 0;  // argon2 passes (t)
  std::size_t memlimit = 0;    // bytes (m)

  // 64 MiB, 3 passes: above every OWASP argon2id row (minimum 19 MiB, t=2).
  // Peak memory is memlimit x concurrent logins, so keep the thread count and
  // the login rate limit in mind when raising it.
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

// Bundles a cost with a precomputed hash of a random password, so a login
// for an unknown account spends as long as one with a wrong password.
class PasswordHasher {
 public:
  // Hashes a random password once: takes as long as one hash_password().
  explicit PasswordHasher(PasswordCost cost);

  const PasswordCost& cost() const { return cost_; }
  std::string hash(std::string_view password) const;
  bool verify(std::string_view password, std::string_view encoded_hash) const noexcept;
  bool needs_rehash(std::string_view encoded_hash) const noexcept;
  // Does the work of a failed verify(); the result is always "no match".
  void dummy_verify(std::string_view password) const noexcept;

 private:
  PasswordCost cost_;
  std::string dummy_hash_;
};

}  // namespace secretsd
