// Random tokens and their peppered hashes: API keys, app keys, refresh
// tokens and invite codes are random, shown to their owner once, and stored
// only as a keyed hash, so a leaked table does not leak usable credentials.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace secretsd {

// `bytes` random bytes (libsodium randombytes_buf), base64url without
// padding: 32 bytes -> 43 characters from [A-Za-z0-9_-], never ':'.
// Throws std::invalid_argument unless 16 <= bytes <= 1024.
std::string generate_token(std::size_t bytes = 32);

// Lower-case hex (64 chars) of HMAC-SHA256(pepper_key, secret): the value
// stored for an API key, app key or refresh token. Throws
// std::invalid_argument for an empty pepper.
std::string keyed_hash(std::string_view secret, std::string_view pepper_key);

// 32 raw bytes of HMAC-SHA256(master_key, "pgsecrets subkey v1:" + purpose),
// so one configured secret can yield independent keys (e.g. the credential
// pepper vs. the JWT key). Throws std::invalid_argument for an empty master.
std::string derive_subkey(std::string_view master_key, std::string_view purpose);

// Constant time in the contents; only whether the lengths differ can leak.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

// keyed_hash(presented, pepper) compared in constant time with `stored_hash`.
bool matches_keyed_hash(std::string_view presented, std::string_view stored_hash,
                        std::string_view pepper_key) noexcept;

}  // namespace secretsd
