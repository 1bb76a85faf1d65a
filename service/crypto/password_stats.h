// How many argon2 verifications this process has run (PasswordHasher::
// verify() and dummy_verify()): lets a test prove that every login attempt,
// for a known account or not, costs exactly one. Kept apart from password.h
// so that nothing else depends on it.
#pragma once

#include <cstdint>

namespace secretsd {

std::uint64_t argon2_verifications() noexcept;

}  // namespace secretsd
