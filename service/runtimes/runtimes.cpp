#include "runtimes/runtimes.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "http/json_io.h"
#include "runtimes/names.h"

namespace secretsd::runtimes {
namespace {

constexpr std::size_t kMaxArgs = 64;
constexpr std::size_t kMaxArgBytes = 4096;
constexpr std::size_t kMaxSettings = 64;
constexpr std::size_t kMaxUrlBytes = 2048;

std::optional<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return std::nullopt;
  return std::string(buf);
}

// A JSON array of 1..max strings, each 1..max_bytes long.
std::optional<std::vector<std::string>> string_array(const nlohmann::json& v, std::size_t max,
                                                     std::size_t max_bytes) {
  if (!v.is_array() || v.empty() || v.size() > max) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return std::nullopt;
    auto s = item.get<std::string>();
    if (s.empty() || s.size() > max_bytes) return std::nullopt;
    out.push_back(std::move(s));
  }
  return out;
}

PolicyError bad(std::string message) { return {400, std::move(message)}; }

}  // namespace

bool Runtime::consumes(const std::string& setting) const {
  for (const auto& s : settings) {
    if (s == setting) return true;
  }
  return false;
}

std::optional<std::string> allowed_executable(const std::string& path,
                                              const std::vector<std::string>& dirs) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  auto resolved = real_path(path);
  if (!resolved) return std::nullopt;
  struct stat st {};
  if (::stat(resolved->c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
      ::access(resolved->c_str(), X_OK) != 0) {
    return std::nullopt;
  }
  for (const auto& dir : dirs) {
    auto real_dir = real_path(dir);
    if (!real_dir) continue;
    std::string prefix = *real_dir == "/" ? "/" : *real_dir + "/";
    if (resolved->compare(0, prefix.size(), prefix) == 0) return resolved;
  }
  return std::nullopt;
}

std::optional<LoopbackUrl> parse_loopback_url(const std::string& url) {
  if (url.size() > kMaxUrlBytes) return std::nullopt;
  // Path characters: printable ASCII without space, '#', '\\' or '@' (no
  // fragments, no userinfo tricks, nothing a request line could not carry).
  static const std::regex kUrl(
      R"(^http://(127\.0\.0\.1|localhost|\[::1\])(?::([0-9]{1,5}))?(/[!$%&'()*+,\-./0-9:;=?A-Z_a-z~]*)?$)");
  std::smatch m;
  if (!std::regex_match(url, m, kUrl)) return std::nullopt;
  LoopbackUrl out;
  out.host = m[1].str() == "[::1]" ? "::1" : "127.0.0.1";
  if (m[2].matched) {
    out.port = std::stoi(m[2].str());
    if (out.port < 1 || out.port > 65535) return std::nullopt;
  }
  out.path = m[3].matched ? m[3].str() : "/";
  return out;
}

std::variant<Runtime, PolicyError> parse_runtime(const nlohmann::json& body, bool trusted,
                                                 const std::vector<std::string>& command_dirs) {
  if (!body.is_object()) return bad("A runtime must be a JSON object");
  Runtime r;
  r.from_config = trusted;

  auto id = body.find("id");
  if (id == body.end() || !id->is_string() || !valid_runtime_id(id->get<std::string>())) {
    return bad("id must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
  }
  r.id = id->get<std::string>();

  auto settings = body.find("settings");
  auto names = settings == body.end() ? std::nullopt : string_array(*settings, kMaxSettings, 128);
  if (!names) return bad("settings must be a non-empty array of setting names");
  for (const auto& n : *names) {
    if (!valid_setting_name(n)) return bad("settings must be a non-empty array of setting names");
  }
  r.settings = *names;

  auto restart = body.find("restart");
  if (restart == body.end() || !restart->is_object() || restart->size() != 1) {
    return bad("restart must be {\"command\": [argv...]} or {\"url\": \"http://127.0.0.1:PORT/path\"}");
  }
  if (auto cmd = restart->find("command"); cmd != restart->end()) {
    auto argv = string_array(*cmd, kMaxArgs, kMaxArgBytes);
    if (!argv || (*argv)[0][0] != '/') {
      return bad("restart.command must be an argv array whose first element is an absolute path");
    }
    if (!trusted) {
      if (command_dirs.empty()) {
        return PolicyError{403, "Command runtimes cannot be registered through the API on this server"};
      }
      if (!allowed_executable((*argv)[0], command_dirs)) {
        return PolicyError{403, "The restart command is not an executable in an allowed directory"};
      }
    }
    r.command = *argv;
  } else if (auto url = restart->find("url"); url != restart->end()) {
    if (!url->is_string()) return bad("restart.url must be a string");
    if (!parse_loopback_url(url->get<std::string>())) {
      return PolicyError{403, "restart.url must be an http URL on 127.0.0.1, localhost or [::1]"};
    }
    r.url = url->get<std::string>();
  } else {
    return bad("restart must be {\"command\": [argv...]} or {\"url\": \"http://127.0.0.1:PORT/path\"}");
  }

  if (auto health = body.find("health_url"); health != body.end() && !health->is_null()) {
    if (!health->is_string()) return bad("health_url must be a string");
    if (!parse_loopback_url(health->get<std::string>())) {
      return PolicyError{403, "health_url must be an http URL on 127.0.0.1, localhost or [::1]"};
    }
    r.health_url = health->get<std::string>();
  }
  if (trusted) {
    if (auto app = body.find("app_id"); app != body.end() && app->is_string()) {
      r.app_id = app->get<std::string>();
    }
  }
  return r;
}

RuntimesFile load_runtimes_file(const std::string& path) {
  const std::string where = "SECRETSD_RUNTIMES_FILE (" + path + ")";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(where + " cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = http::parse_json_object(text.str());
  if (!doc) throw std::runtime_error(where + " is not a JSON object");

  RuntimesFile file;
  if (auto rs = doc->find("runtimes"); rs != doc->end()) {
    if (!rs->is_array()) throw std::runtime_error(where + ": runtimes must be an array");
    for (const auto& entry : *rs) {
      auto parsed = parse_runtime(entry, /*trusted=*/true, {});
      if (auto* e = std::get_if<PolicyError>(&parsed)) {
        throw std::runtime_error(where + ": invalid runtime: " + e->message);
      }
      auto r = std::get<Runtime>(std::move(parsed));
      for (const auto& other : file.runtimes) {
        if (other.id == r.id) throw std::runtime_error(where + ": duplicate runtime id " + r.id);
      }
      file.runtimes.push_back(std::move(r));
    }
  }
  if (auto ss = doc->find("settings"); ss != doc->end()) {
    if (!ss->is_object()) throw std::runtime_error(where + ": settings must be an object");
    for (const auto& [name, spec] : ss->items()) {
      if (!valid_setting_name(name) || !spec.is_object()) {
        throw std::runtime_error(where + ": settings entries must be objects keyed by setting name");
      }
      SettingPolicy policy;
      if (auto probe = spec.find("probe"); probe != spec.end()) {
        auto argv = string_array(*probe, kMaxArgs, kMaxArgBytes);
        if (!argv || (*argv)[0][0] != '/') {
          throw std::runtime_error(where + ": probe of " + name +
                                   " must be an argv array starting with an absolute path");
        }
        policy.probe = *argv;
      }
      if (auto canary = spec.find("canary"); canary != spec.end()) {
        if (!canary->is_boolean()) throw std::runtime_error(where + ": canary must be a boolean");
        policy.canary = canary->get<bool>();
      }
      file.settings[name] = std::move(policy);
    }
  }
  return file;
}

nlohmann::json runtime_json(const Runtime& r) {
  nlohmann::json restart;
  if (!r.command.empty()) {
    restart = {{"command", r.command}};
  } else {
    restart = {{"url", r.url}};
  }
  return {{"id", r.id},
          {"settings", r.settings},
          {"restart", restart},
          {"health_url", r.health_url.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.health_url)},
          {"source", r.from_config ? "config" : "api"}};
}

}  // namespace secretsd::runtimes
