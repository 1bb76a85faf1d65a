// Shape checks for what a person sends to register: an e-mail address, a
// password and a household name. Pure functions, unit-tested without a
// server (tests/accounts/validation_test.cpp).
#pragma once

#include <cstddef>
#include <string_view>

namespace secretsd::accounts {

inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;
inline constexpr std::size_t kMaxEmailBytes = 320;
inline constexpr std::size_t kMaxHouseholdNameBytes = 200;

// local@domain: one '@', a non-empty local part, a dotted domain of
// letters/digits/hyphens, no spaces or control characters, <= 320 bytes.
// Deliberately not RFC 5322: only what a registration form should accept.
bool is_valid_email(std::string_view email);

// 8..1024 bytes (bytes, not characters: argon2 input size is what matters).
bool is_valid_password(std::string_view password);

// 1..200 bytes, no control characters.
bool is_valid_household_name(std::string_view name);

}  // namespace secretsd::accounts
