// Recovery codes of two-factor sign-in: ten random codes shown once when
// two-factor sign-in is confirmed, each good for one sign-in without the
// authenticator. Stored only as keyed hashes (identity::credential_hash with
// the credential pepper), so a leaked table yields no usable code.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace secretsd::accounts::recovery_codes {

inline constexpr std::size_t kCount = 10;
// 10 random bytes = 80 bits = 16 base32 characters, shown as 4 groups of 4.
inline constexpr std::size_t kRandomBytes = 10;
inline constexpr std::size_t kCharacters = 16;

// kCount fresh codes, "ABCD-EFGH-JKLM-NP23" (base32: A-Z and 2-7), distinct.
std::vector<std::string> generate();

// The canonical form a code is hashed in: upper case, without '-' and
// spaces. nullopt unless that is 16 base32 characters, so a typed code
// "abcd efgh-jklm np23" matches and anything else is refused unhashed.
std::optional<std::string> normalize(std::string_view presented);

// What is stored for a code: credential_hash(pepper, normalize(code)).
// Throws std::invalid_argument if `code` does not normalize.
std::string hash(std::string_view pepper, std::string_view code);

// The index in `stored_hashes` of the hash of `presented`, or nullopt.
// Compares against every stored hash in constant time and never stops at
// a match, so the time taken does not tell how many codes are left before
// the matching one, nor how close a guess was.
std::optional<std::size_t> find(std::string_view pepper, std::string_view presented,
                                const std::vector<std::string>& stored_hashes);

}  // namespace secretsd::accounts::recovery_codes
