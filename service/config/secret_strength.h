// Rejects configured secrets that are obviously not secret: placeholders
// copied from an example .env, too-short values, repeated patterns.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace secretsd {

inline constexpr std::size_t kMinSecretBytes = 32;

// Bytes of key material: a value of exactly 64 hex characters (what
// `openssl rand -hex 32` prints) counts as the 32 bytes it encodes; anything
// else counts as its raw length.
std::size_t secret_strength_bytes(std::string_view value);

// A short, log-safe reason ("is too short ...", "looks like a placeholder",
// ...) or std::nullopt if acceptable. Never includes the value itself.
std::optional<std::string> secret_weakness(std::string_view value);

}  // namespace secretsd
