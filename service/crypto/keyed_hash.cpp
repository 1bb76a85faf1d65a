#include "crypto/keyed_hash.h"

#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <sodium.h>

#include "crypto/encoding.h"
#include "crypto/hmac.h"
#include "crypto/sodium_init.h"

namespace secretsd {
namespace {

constexpr std::size_t kMinTokenBytes = 16;
constexpr std::size_t kMaxTokenBytes = 1024;

std::string_view as_chars(const Sha256Mac& mac) {
  return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

}  // namespace

std::string generate_token(std::size_t bytes) {
  if (bytes < kMinTokenBytes || bytes > kMaxTokenBytes) {
    throw std::invalid_argument("token size must be between 16 and 1024 bytes");
  }
  ensure_sodium_initialized();
  std::vector<unsigned char> random(bytes);
  randombytes_buf(random.data(), random.size());
  std::string token =
      base64url_encode({reinterpret_cast<const char*>(random.data()), random.size()});
  sodium_memzero(random.data(), random.size());
  return token;
}

std::string keyed_hash(std::string_view secret, std::string_view pepper_key) {
  if (pepper_key.empty()) throw std::invalid_argument("pepper key must not be empty");
  return hex_encode(as_chars(hmac_sha256(pepper_key, secret)));
}

std::string derive_subkey(std::string_view master_key, std::string_view purpose) {
  if (master_key.empty()) throw std::invalid_argument("master key must not be empty");
  std::string label = "pgsecrets subkey v1:";
  label += purpose;
  return std::string(as_chars(hmac_sha256(master_key, label)));
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    // Same amount of work as an equal-length compare, so only the length
    // difference itself is observable.
    static_cast<void>(CRYPTO_memcmp(a.data(), a.data(), a.size()));
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool matches_keyed_hash(std::string_view presented, std::string_view stored_hash,
                        std::string_view pepper_key) noexcept {
  try {
    return constant_time_equal(keyed_hash(presented, pepper_key), stored_hash);
  } catch (...) {
    return false;
  }
}

}  // namespace secretsd
