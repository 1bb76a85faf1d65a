// libsodium must be initialised before its RNG or hashing is used; every
// module that calls libsodium goes through this instead of sodium_init().
#pragma once

namespace secretsd {

// Idempotent and thread-safe (std::call_once). Throws std::runtime_error if
// libsodium cannot initialise, which means no usable randomness source.
void ensure_sodium_initialized();

}  // namespace secretsd
