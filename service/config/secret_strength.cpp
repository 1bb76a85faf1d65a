#include "config/secret_strength.h"

#include <array>
#include <cctype>
#include <vector>

#include "crypto/encoding.h"

namespace secretsd {
namespace {

// Fewer distinct characters than this is not a random key (random hex has
// ~16 in 64 characters; base64 more).
constexpr std::size_t kMinDistinctChars = 8;

// Matched against the value lower-cased with non-alphanumerics removed, so
// "CHANGE_ME", "change-me" and "changeme" are one entry.
constexpr std::string_view kPlaceholderFragments[] = {
    "changeme", "changethis", "yoursecret", "secretkey", "placeholder", "replaceme",
    "example",  "insecure",   "password",   "default",   "notasecret",
};

std::string normalized(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c)) out.push_back(static_cast<char>(std::tolower(c)));
  }
  return out;
}

bool contains_placeholder(std::string_view value) {
  const std::string text = normalized(value);
  if (text == "secret") return true;
  for (auto fragment : kPlaceholderFragments) {
    if (text.find(fragment) != std::string::npos) return true;
  }
  return false;
}

std::size_t distinct_chars(std::string_view value) {
  std::array<bool, 256> seen{};
  std::size_t count = 0;
  for (unsigned char c : value) {
    if (!seen[c]) {
      seen[c] = true;
      ++count;
    }
  }
  return count;
}

// True if the value is some shorter unit repeated ("abcabcabc...").
bool is_repetition(std::string_view value) {
  const std::size_t n = value.size();
  if (n < 2) return false;
  // KMP prefix function: n - border is the smallest period.
  std::vector<std::size_t> border(n, 0);
  for (std::size_t i = 1; i < n; ++i) {
    std::size_t k = border[i - 1];
    while (k > 0 && value[i] != value[k]) k = border[k - 1];
    if (value[i] == value[k]) ++k;
    border[i] = k;
  }
  const std::size_t period = n - border[n - 1];
  return period < n && n % period == 0;
}

}  // namespace

std::size_t secret_strength_bytes(std::string_view value) {
  if (value.size() == 64 && is_hex(value)) return 32;
  return value.size();
}

std::optional<std::string> secret_weakness(std::string_view value) {
  if (value.empty()) return "is empty";
  if (contains_placeholder(value)) return "looks like a placeholder";
  if (secret_strength_bytes(value) < kMinSecretBytes) {
    return "is too short (need at least 32 bytes, e.g. `openssl rand -hex 32`)";
  }
  if (distinct_chars(value) < kMinDistinctChars || is_repetition(value)) {
    return "is too repetitive to be a random key";
  }
  return std::nullopt;
}

}  // namespace secretsd
