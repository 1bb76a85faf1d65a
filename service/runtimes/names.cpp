#include "runtimes/names.h"

namespace secretsd::runtimes {
namespace {

bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }
bool is_punct(char c) { return c == '_' || c == '.' || c == '-'; }

bool valid_name(std::string_view s, bool first_may_be_digit) {
  if (s.empty() || s.size() > 128) return false;
  if (first_may_be_digit ? !is_alnum(s[0]) : !is_alpha(s[0])) return false;
  for (char c : s.substr(1)) {
    if (!is_alnum(c) && !is_punct(c)) return false;
  }
  return true;
}

}  // namespace

bool valid_setting_name(std::string_view name) { return valid_name(name, false); }
bool valid_runtime_id(std::string_view id) { return valid_name(id, true); }

std::string env_var_name(std::string_view setting_name) {
  std::string out;
  out.reserve(setting_name.size());
  for (char c : setting_name) {
    if (c >= 'a' && c <= 'z') {
      out += static_cast<char>(c - 'a' + 'A');
    } else if (is_alnum(c)) {
      out += c;
    } else {
      out += '_';
    }
  }
  return out;
}

}  // namespace secretsd::runtimes
