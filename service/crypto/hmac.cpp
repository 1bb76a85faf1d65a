#include "crypto/hmac.h"

#include <climits>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace secretsd {

Sha256Mac hmac_sha256(std::string_view key, std::string_view data) {
  if (key.size() > static_cast<std::size_t>(INT_MAX)) {
    throw std::invalid_argument("hmac key too long");
  }
  // OpenSSL wants a non-null key pointer even for an empty key.
  static constexpr unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  Sha256Mac mac{};
  unsigned int mac_len = 0;
  const auto* data_ptr = reinterpret_cast<const unsigned char*>(data.data());
  if (HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()), data_ptr, data.size(),
           mac.data(), &mac_len) == nullptr ||
      mac_len != mac.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return mac;
}

bool mac_equal(const Sha256Mac& a, const Sha256Mac& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace secretsd
