#include "auth/validation.h"

namespace secretsd {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_valid_local_part(std::string_view local) {
  if (local.empty() || local.size() > 64) return false;
  for (char c : local) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '@' || c == '"' || c == '(' || c == ')' || c == ',' ||
        c == ':' || c == ';' || c == '<' || c == '>' || c == '[' || c == ']' || c == '\\') {
      return false;
    }
  }
  return true;
}

bool is_valid_domain_label(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_valid_domain(std::string_view domain) {
  if (domain.size() > 253 || domain.find('.') == std::string_view::npos) return false;
  while (true) {
    auto dot = domain.find('.');
    if (!is_valid_domain_label(domain.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    domain.remove_prefix(dot + 1);
  }
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

bool is_valid_email(std::string_view email) {
  if (email.size() > kMaxEmailBytes) return false;
  auto at = email.find('@');
  if (at == std::string_view::npos || email.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  return is_valid_local_part(email.substr(0, at)) && is_valid_domain(email.substr(at + 1));
}

bool is_valid_password(std::string_view password) {
  return password.size() >= kMinPasswordBytes && password.size() <= kMaxPasswordBytes;
}

bool is_valid_household_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxHouseholdNameBytes) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

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

}  // namespace secretsd
