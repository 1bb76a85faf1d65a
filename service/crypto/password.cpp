#include "crypto/password.h"

#include <array>
#include <atomic>
#include <stdexcept>

#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/password_stats.h"
#include "crypto/sodium_init.h"

namespace secretsd {
namespace {

std::atomic<std::uint64_t> verification_count{0};

constexpr std::size_t kMiB = 1024 * 1024;

// libsodium reads the encoded hash as a C string of bounded length.
bool fits_encoded_hash(std::string_view encoded_hash) {
  return !encoded_hash.empty() && encoded_hash.size() < crypto_pwhash_STRBYTES &&
         encoded_hash.find('\0') == std::string_view::npos;
}

std::string random_password() {
  std::array<unsigned char, 32> bytes{};
  randombytes_buf(bytes.data(), bytes.size());
  std::string text = hex_encode({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  sodium_memzero(bytes.data(), bytes.size());
  return text;
}

}  // namespace

PasswordCost PasswordCost::production_default() { return PasswordCost{3, 64 * kMiB}; }

PasswordCost PasswordCost::owasp_minimum() { return PasswordCost{2, 19 * kMiB}; }

bool meets_owasp_minimum(const PasswordCost& cost) {
  const auto minimum = PasswordCost::owasp_minimum();
  return cost.opslimit >= minimum.opslimit && cost.memlimit >= minimum.memlimit;
}

bool is_valid_argon2id_cost(const PasswordCost& cost) {
  return cost.opslimit >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
         cost.opslimit <= crypto_pwhash_argon2id_OPSLIMIT_MAX &&
         cost.memlimit >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
         cost.memlimit <= crypto_pwhash_argon2id_MEMLIMIT_MAX;
}

std::string hash_password(std::string_view password, const PasswordCost& cost) {
  ensure_sodium_initialized();
  if (!is_valid_argon2id_cost(cost)) throw std::invalid_argument("argon2id cost out of range");
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), cost.opslimit,
                            cost.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    throw std::runtime_error("password hashing failed (out of memory?)");
  }
  return std::string(out.data());
}

bool verify_password(std::string_view password, std::string_view encoded_hash) noexcept {
  try {
    ensure_sodium_initialized();
    if (!fits_encoded_hash(encoded_hash)) return false;
    const std::string hash(encoded_hash);
    return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
  } catch (...) {
    return false;
  }
}

bool needs_rehash(std::string_view encoded_hash, const PasswordCost& cost) noexcept {
  try {
    ensure_sodium_initialized();
    if (!fits_encoded_hash(encoded_hash)) return true;
    // Only argon2id hashes count as current; argon2i ones get upgraded.
    if (encoded_hash.rfind(crypto_pwhash_argon2id_STRPREFIX, 0) != 0) return true;
    const std::string hash(encoded_hash);
    return crypto_pwhash_str_needs_rehash(hash.c_str(), cost.opslimit, cost.memlimit) != 0;
  } catch (...) {
    return true;
  }
}

HashingSlots::Slot::Slot(HashingSlots& slots) : slots_(slots) {
  std::unique_lock<std::mutex> lock(slots_.mutex_);
  slots_.freed_.wait(lock, [this] { return slots_.in_use_ < slots_.limit_; });
  ++slots_.in_use_;
}

HashingSlots::Slot::~Slot() {
  {
    std::lock_guard<std::mutex> lock(slots_.mutex_);
    --slots_.in_use_;
  }
  slots_.freed_.notify_one();
}

std::size_t HashingSlots::in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

PasswordHasher::PasswordHasher(PasswordCost cost, std::size_t max_concurrent)
    : cost_(cost), dummy_hash_(hash_password(random_password(), cost)), slots_(max_concurrent) {}

std::string PasswordHasher::hash(std::string_view password) const {
  HashingSlots::Slot slot(slots_);
  return hash_password(password, cost_);
}

bool PasswordHasher::verify(std::string_view password,
                            std::string_view encoded_hash) const noexcept {
  try {
    HashingSlots::Slot slot(slots_);
    ++verification_count;
    return verify_password(password, encoded_hash);
  } catch (...) {  // std::system_error from the mutex: fail closed
    return false;
  }
}

bool PasswordHasher::needs_rehash(std::string_view encoded_hash) const noexcept {
  return secretsd::needs_rehash(encoded_hash, cost_);
}

void PasswordHasher::dummy_verify(std::string_view password) const noexcept {
  // The random password was discarded, so this cannot match anything.
  static_cast<void>(verify(password, dummy_hash_));
}

std::uint64_t argon2_verifications() noexcept { return verification_count.load(); }

}  // namespace secretsd
