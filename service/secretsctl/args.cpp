#include "secretsctl/args.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "secretsctl/errors.h"

namespace secretsctl {
namespace {

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string see_help(const OptionSpec& spec) {
  return " (see: " + spec.program + " " + spec.command + " --help)";
}

}  // namespace

std::optional<std::string> Args::value(const std::string& name) const {
  const auto it = values.find(name);
  if (it == values.end()) return std::nullopt;
  return it->second;
}

Args parse_args(const std::vector<std::string>& argv, const OptionSpec& spec) {
  Args args;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (options_done || word.size() < 2 || word[0] != '-' ) {
      args.positionals.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    if (word == "-h") {
      args.flags.insert("help");
      continue;
    }
    if (word.compare(0, 2, "--") != 0) {
      throw usage_error("unknown option '" + word + "' for '" + spec.command + "'" + see_help(spec));
    }
    std::string name = word.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.erase(eq);
    }
    if (name == "help" || contains(spec.flags, name)) {
      if (inline_value) throw usage_error("option --" + name + " takes no value" + see_help(spec));
      args.flags.insert(name);
    } else if (contains(spec.valued, name)) {
      if (inline_value) {
        args.values[name] = *inline_value;
      } else if (i + 1 < argv.size()) {
        args.values[name] = argv[++i];
      } else {
        throw usage_error("option --" + name + " needs a value" + see_help(spec));
      }
    } else {
      throw usage_error("unknown option '--" + name + "' for '" + spec.command + "'" + see_help(spec));
    }
  }
  return args;
}

long long parse_int(const std::string& text, const std::string& what, long long min, long long max) {
  const bool digits = !text.empty() &&
                      std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); });
  if (digits && text.size() <= 18) {
    errno = 0;
    char* end = nullptr;
    const long long value = std::strtoll(text.c_str(), &end, 10);
    if (errno == 0 && *end == '\0' && value >= min && value <= max) return value;
  }
  throw usage_error(what + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) +
                    ", not '" + text + "'");
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace secretsctl
