#include "accounts/recovery_codes.h"

#include <sodium.h>

#include <algorithm>
#include <stdexcept>

#include "accounts/totp.h"
#include "crypto/keyed_hash.h"
#include "crypto/sodium_init.h"
#include "identity/tokens.h"

namespace secretsd::accounts::recovery_codes {
namespace {

constexpr std::size_t kGroup = 4;

bool is_base32(char c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); }

std::string new_code() {
  ensure_sodium_initialized();
  std::string random(kRandomBytes, '\0');
  randombytes_buf(random.data(), random.size());
  const std::string plain = totp::base32_encode(random);  // exactly 16: 80 bits / 5
  sodium_memzero(random.data(), random.size());
  std::string grouped;
  for (std::size_t i = 0; i < plain.size(); i += kGroup) {
    if (i != 0) grouped.push_back('-');
    grouped.append(plain, i, kGroup);
  }
  return grouped;
}

}  // namespace

std::vector<std::string> generate() {
  std::vector<std::string> codes;
  while (codes.size() < kCount) {
    std::string code = new_code();
    // Two equal codes among ten (a 2^-80 event) would make one of them
    // unusable after the other; cheap to rule out.
    if (std::find(codes.begin(), codes.end(), code) == codes.end()) codes.push_back(std::move(code));
  }
  return codes;
}

std::optional<std::string> normalize(std::string_view presented) {
  std::string out;
  for (char c : presented) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!is_base32(c) || out.size() == kCharacters) return std::nullopt;
    out.push_back(c);
  }
  if (out.size() != kCharacters) return std::nullopt;
  return out;
}

std::string hash(std::string_view pepper, std::string_view code) {
  const auto canonical = normalize(code);
  if (!canonical) throw std::invalid_argument("not a recovery code");
  return identity::credential_hash(pepper, *canonical);
}

std::optional<std::size_t> find(std::string_view pepper, std::string_view presented,
                                const std::vector<std::string>& stored_hashes) {
  const auto canonical = normalize(presented);
  if (!canonical) return std::nullopt;
  const std::string presented_hash = identity::credential_hash(pepper, *canonical);
  bool found = false;
  std::size_t index = 0;
  for (std::size_t i = 0; i < stored_hashes.size(); ++i) {
    const bool equal = constant_time_equal(presented_hash, stored_hashes[i]);
    // No early exit: every stored hash is compared whatever came before.
    index = equal ? i : index;
    found |= equal;
  }
  if (!found) return std::nullopt;
  return index;
}

}  // namespace secretsd::accounts::recovery_codes
