// Time-based one-time passwords (RFC 6238) through Debian's liboath, with
// the parameters every authenticator app defaults to: HMAC-SHA-1, 6 digits,
// 30-second steps from the Unix epoch. A code is accepted one step early or
// late (clock drift); the caller stores the step a code matched and refuses
// any later code at or below it, so each code is used once.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

namespace secretsd::accounts::totp {

inline constexpr unsigned kDigits = 6;
inline constexpr unsigned kStepSeconds = 30;
inline constexpr unsigned kWindowSteps = 1;    // +-1 step
inline constexpr std::size_t kSecretBytes = 20;  // 160 bits, RFC 4226's recommendation
inline constexpr const char* kIssuer = "pgsecrets";

// kSecretBytes random bytes (libsodium's RNG): the shared secret, raw.
std::string new_secret();

// RFC 4648 base32 (liboath), upper case, without '=' padding: the secret as
// an authenticator app is given it (20 bytes -> 32 characters), and the
// alphabet of recovery codes.
std::string base32_encode(std::string_view bytes);

// otpauth://totp/pgsecrets:<email>?secret=<base32>&issuer=pgsecrets&
// algorithm=SHA1&digits=6&period=30 -- the label and the issuer are
// percent-encoded (RFC 3986; '@' may stay as it is in a path).
std::string otpauth_uri(std::string_view secret, std::string_view account_email);

// The time step of `now`: floor(now / 30).
std::int64_t time_step(std::time_t now);

// The code for `now` (6 digits), as an authenticator app shows it.
std::string code_at(std::string_view secret, std::time_t now);

// The time step `code` matches within +-kWindowSteps of `now`, or nullopt
// (not 6 ASCII digits, or no match). Codes are compared in constant time.
// This does not know which steps were used: the caller refuses a step at
// or below the last one it accepted.
std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::time_t now);

}  // namespace secretsd::accounts::totp
