// Authenticated encryption of small values secretsd must read back but must
// not keep in plain text in its own tables (a TOTP secret): libsodium's
// XChaCha20-Poly1305 with a random 192-bit nonce, bound to an "associated"
// value (e.g. the owning user's id) so a sealed value copied to another row
// does not open there.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace secretsd {

// 32 bytes: e.g. derive_subkey(AUTH_SECRET_KEY, "<purpose>").
inline constexpr std::size_t kSealKeyBytes = 32;

// "v1." + base64url(nonce || ciphertext || tag). Throws
// std::invalid_argument for a key that is not kSealKeyBytes long.
std::string seal(std::string_view key, std::string_view plaintext, std::string_view associated);

// The plaintext, or nullopt when the value is malformed, was sealed with
// another key or another associated value, or was altered.
std::optional<std::string> open_sealed(std::string_view key, std::string_view sealed,
                                       std::string_view associated);

}  // namespace secretsd
