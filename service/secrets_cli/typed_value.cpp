#include "secrets_cli/typed_value.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace secrets_client {

std::optional<std::int32_t> parse_int32(const std::string& text) {
  std::size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  if (i == text.size()) return std::nullopt;
  // Accumulate in 64 bits and stop past 32: no overflow, any number of digits.
  long long v = 0;
  const long long limit = negative ? -static_cast<long long>(std::numeric_limits<std::int32_t>::min())
                                   : std::numeric_limits<std::int32_t>::max();
  for (; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return std::nullopt;
    v = v * 10 + (text[i] - '0');
    if (v > limit) return std::nullopt;
  }
  return static_cast<std::int32_t>(negative ? -v : v);
}

std::optional<bool> parse_bool(const std::string& text) {
  std::string t = text;
  std::transform(t.begin(), t.end(), t.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (t == "true") return true;
  if (t == "false") return false;
  return std::nullopt;
}

std::optional<std::string> typed_text(const std::string& value, const std::string& type) {
  if (type == "int") {
    auto v = parse_int32(value);
    if (!v) return std::nullopt;
    return std::to_string(*v);
  }
  if (type == "bool") {
    auto v = parse_bool(value);
    if (!v) return std::nullopt;
    return std::string(*v ? "true" : "false");
  }
  return value;
}

}  // namespace secrets_client
