#include "identity/validation.h"

#include <cstddef>

namespace secretsd::identity {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// `first` must satisfy first_ok, the rest rest_ok; total 1..max_len.
template <typename FirstOk, typename RestOk>
bool matches_identifier(std::string_view text, std::size_t max_len, FirstOk first_ok,
                        RestOk rest_ok) {
  if (text.empty() || text.size() > max_len || !first_ok(text.front())) return false;
  for (char c : text.substr(1)) {
    if (!rest_ok(c)) return false;
  }
  return true;
}

}  // namespace

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash_position = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash_position ? text[i] != '-' : !is_hex_digit(text[i])) return false;
  }
  return true;
}

bool is_valid_app_id(std::string_view app_id) {
  return matches_identifier(app_id, 64, is_lower_alnum, [](char c) {
    return is_lower_alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

bool is_valid_node_id(std::string_view node_id) {
  return matches_identifier(node_id, 128, is_alnum, [](char c) {
    return is_alnum(c) || c == '.' || c == '_' || c == '-';
  });
}

}  // namespace secretsd::identity
