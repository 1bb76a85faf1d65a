#include "providers/masking.h"

#include <cstddef>
#include <vector>

namespace secretsd::providers {
namespace {

constexpr std::string_view kFullMask = "\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2";  // ••••
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";                                     // …

// Byte offsets where each code point starts (continuation bytes skipped),
// so a mask never cuts a multi-byte character in half.
std::vector<std::size_t> char_starts(std::string_view s) {
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  return starts;
}

}  // namespace

std::string mask_value(std::string_view value) {
  const auto starts = char_starts(value);
  const std::size_t n = starts.size();
  if (n < 12) return std::string(kFullMask);
  std::string out;
  if (n >= 20) out.append(value.substr(0, starts[3]));
  out.append(kEllipsis);
  out.append(value.substr(starts[n - 4]));
  return out;
}

}  // namespace secretsd::providers
