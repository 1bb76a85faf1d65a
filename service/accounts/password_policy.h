// The password rule of registration and password change (issue 22): at
// least 12 characters and strong by Debian's libzxcvbn (zxcvbn score >= 3).
// One rule in one place: every route that sets a password asks this.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace secretsd::accounts {

// Counted in Unicode code points, not bytes: "pässwörd" is 8 characters.
inline constexpr std::size_t kMinPasswordCharacters = 12;
// A cap on work (argon2 and zxcvbn run on the whole password) and on
// request size; long passphrases stay well inside it.
inline constexpr std::size_t kMaxPasswordCharacters = 1024;

// zxcvbn's score 3 is "guesses >= 1e8". libzxcvbn returns log2(guesses)
// (its "entropy" in bits), so the same bar is log2(1e8) = 26.575 bits.
inline constexpr double kMinPasswordGuessesLog2 = 26.575424759098897;  // 8 * log2(10)

// Why `password` is refused, or nullopt when it is acceptable. The reason
// is safe to show to the person choosing it (it never repeats the
// password) and starts with one of:
//   "too short: use at least 12 characters"
//   "too long: use at most 1024 characters"
//   "not valid UTF-8"
//   "too common: ..."        (a well-known password, or common words)
//   "too easy to guess: ..." (contains the email or name, keyboard pattern,
//                            sequence, repeats, dates, or simply too short
//                            on guesses)
// `email` and `display_name` (either may be empty) count as dictionary
// words of this person: a password built from them is easy to guess.
std::optional<std::string> password_refusal(std::string_view password, std::string_view email,
                                            std::string_view display_name);

// Unicode code points of valid UTF-8 text; nullopt if it is not valid UTF-8
// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::optional<std::size_t> utf8_code_points(std::string_view text);

}  // namespace secretsd::accounts
