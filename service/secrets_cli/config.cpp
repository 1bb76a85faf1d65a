#include "secrets_cli/config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "secrets_cli/errors.h"

namespace secrets_client {
namespace {

struct Setting {
  const char* flag;
  const char* env;
};

constexpr Setting kUrl{"url", "SECRETS_URL"};
constexpr Setting kApiKey{"api-key", "SECRETS_API_KEY"};
constexpr Setting kAppId{"app-id", "SECRETS_APP_ID"};
constexpr Setting kAppKey{"app-key", "SECRETS_APP_KEY"};
constexpr Setting kToken{"token", "SECRETS_TOKEN"};
constexpr Setting kHousehold{"household-id", "SECRETS_HOUSEHOLD_ID"};
constexpr Setting kCaFile{"ca-file", "SECRETS_CA_FILE"};
constexpr Setting kCredentials[] = {kApiKey, kAppId, kAppKey, kToken};

std::optional<std::string> flag_value(const ConfigFlags& flags, const Setting& s) {
  auto it = flags.values.find(s.flag);
  if (it == flags.values.end()) return std::nullopt;
  return it->second;
}

// The flag, else the variable.
std::string setting(const EnvLookup& env, const ConfigFlags& flags, const Setting& s, bool use_env = true) {
  if (auto v = flag_value(flags, s)) return *v;
  if (!use_env) return {};
  return env(s.env).value_or("");
}

std::string names(const Setting& s) {
  return std::string(s.env) + " (--" + s.flag + ")";
}

int parse_port(const std::string& text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    throw usage_error("SECRETS_URL has a bad port");
  }
  int port = std::atoi(text.c_str());
  if (port < 1 || port > 65535) throw usage_error("SECRETS_URL has a bad port");
  return port;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

Endpoint parse_url(const std::string& url) {
  Endpoint out;
  const auto sep = url.find("://");
  if (sep == std::string::npos) throw usage_error("SECRETS_URL must start with https:// or http://");
  out.scheme = url.substr(0, sep);
  std::transform(out.scheme.begin(), out.scheme.end(), out.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (out.scheme != "http" && out.scheme != "https") {
    throw usage_error("SECRETS_URL must start with https:// or http://");
  }
  std::string rest = url.substr(sep + 3);
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) out.base_path = rest.substr(slash);
  while (!out.base_path.empty() && out.base_path.back() == '/') out.base_path.pop_back();
  if (out.base_path.find_first_of("?#") != std::string::npos) {
    throw usage_error("SECRETS_URL must not have a query or a fragment");
  }
  if (authority.find('@') != std::string::npos) {
    throw usage_error(
        "SECRETS_URL must not carry credentials; use SECRETS_API_KEY, SECRETS_APP_KEY or SECRETS_TOKEN");
  }
  std::string port_text;
  if (!authority.empty() && authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) throw usage_error("SECRETS_URL has a bad IPv6 address");
    out.host = authority.substr(1, close - 1);
    const std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') throw usage_error("SECRETS_URL has a bad host");
      port_text = after.substr(1);
      if (port_text.empty()) throw usage_error("SECRETS_URL has a bad port");
    }
  } else {
    const auto colon = authority.find(':');
    out.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw usage_error("SECRETS_URL has a bad port");
    }
  }
  if (out.host.empty()) throw usage_error("SECRETS_URL has no host");
  out.port = port_text.empty() ? (out.scheme == "https" ? 443 : 80) : parse_port(port_text);
  return out;
}

bool is_loopback_host(const std::string& host) {
  std::string h = host;
  std::transform(h.begin(), h.end(), h.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (h == "localhost" || h == "localhost.") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

void check_transport(const Endpoint& endpoint, bool insecure) {
  if (endpoint.scheme == "https" || insecure || is_loopback_host(endpoint.host)) return;
  // The credential and every value would cross the network in clear text.
  throw usage_error("refusing plain http:// to " + endpoint.host +
                    ", which is not loopback: use https://, or --insecure to accept the risk");
}

ClientConfig resolve_config(const EnvLookup& env, const ConfigFlags& flags) {
  ClientConfig c;
  const std::string url = setting(env, flags, kUrl);
  if (url.empty()) throw usage_error("no server: set " + names(kUrl));
  c.endpoint = parse_url(url);
  c.insecure = flags.insecure;
  check_transport(c.endpoint, c.insecure);
  c.ca_file = setting(env, flags, kCaFile);
  c.household_id = setting(env, flags, kHousehold);

  bool any_credential_flag = false;
  for (const auto& s : kCredentials) any_credential_flag |= flag_value(flags, s).has_value();
  const bool use_env = !any_credential_flag;
  const std::string api_key = setting(env, flags, kApiKey, use_env);
  c.app_id = setting(env, flags, kAppId, use_env);
  c.app_key = setting(env, flags, kAppKey, use_env);
  c.token = setting(env, flags, kToken, use_env);

  const int kinds = !api_key.empty() + !(c.app_id.empty() && c.app_key.empty()) + !c.token.empty();
  if (kinds == 0) {
    throw usage_error("no credentials: set " + names(kApiKey) + ", " + names(kAppId) + " and " +
                      names(kAppKey) + ", or " + names(kToken));
  }
  if (kinds > 1) {
    throw usage_error("more than one kind of credentials: give only one of " + names(kApiKey) + ", " +
                      names(kAppId) + "/" + names(kAppKey) + " or " + names(kToken));
  }
  if (!api_key.empty()) {
    const auto colon = api_key.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == api_key.size()) {
      throw usage_error(names(kApiKey) + " must be node_id:api_key");
    }
    c.caller = Caller::kNode;
    c.node_id = api_key.substr(0, colon);
    c.api_key = api_key.substr(colon + 1);
  } else if (!c.token.empty()) {
    c.caller = Caller::kUser;
  } else {
    if (c.app_id.empty() || c.app_key.empty()) {
      throw usage_error("an app needs both " + names(kAppId) + " and " + names(kAppKey));
    }
    c.caller = Caller::kApp;
  }
  return c;
}

}  // namespace secrets_client
