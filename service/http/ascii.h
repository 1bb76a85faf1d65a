// ASCII case folding for protocol text (header names and values, auth
// schemes, ids): locale-independent, never touching bytes above 0x7F.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace secretsd::http {

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string text) {
  for (char& c : text) c = ascii_lower(c);
  return text;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

}  // namespace secretsd::http
