// HMAC-SHA256 through OpenSSL's one-shot HMAC(); shared by JWT signing and
// the peppered credential hashes.
#pragma once

#include <array>
#include <string_view>

namespace secretsd {

using Sha256Mac = std::array<unsigned char, 32>;

// Throws std::runtime_error if OpenSSL fails (it does not for valid input).
Sha256Mac hmac_sha256(std::string_view key, std::string_view data);

// Constant-time comparison of two MACs (CRYPTO_memcmp).
bool mac_equal(const Sha256Mac& a, const Sha256Mac& b);

}  // namespace secretsd
