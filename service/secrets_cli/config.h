// Where the `secrets` command connects and as whom: SECRETS_* environment
// variables, each overridden by its flag. One place for these rules, shared
// by the command and its tests.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>

namespace secrets_client {

// The parts of SECRETS_URL the client uses.
struct Endpoint {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets for IPv6
  int port = 0;           // explicit or the scheme's default
  std::string base_path;  // "" or "/prefix" (no trailing '/'), put before /api/...
};

enum class Caller { kNode, kApp, kUser };

struct ClientConfig {
  Endpoint endpoint;
  Caller caller = Caller::kNode;
  std::string node_id, api_key;  // node: SECRETS_API_KEY = node_id:api_key
  std::string app_id, app_key;   // app
  std::string household_id;      // app, household calls (X-Household-Id)
  std::string token;             // user: a JWT access token
  std::string ca_file;           // https: CA bundle instead of the system's
  bool insecure = false;         // allow plain http to a non-loopback host
};

// Flag values by name without "--" ("url", "api-key", "app-id", "app-key",
// "household-id", "token", "ca-file"); `insecure` is --insecure.
struct ConfigFlags {
  std::map<std::string, std::string> values;
  bool insecure = false;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The process environment (empty values count as unset).
EnvLookup process_env();

// Resolves the configuration. A flag overrides its variable; if any
// credential flag is given, credential variables are ignored as a whole (so
// --token works in a shell that exports SECRETS_API_KEY). Exactly one kind of
// credential must remain. Throws ClientError(kExitUsage) naming the setting,
// never its value.
ClientConfig resolve_config(const EnvLookup& env, const ConfigFlags& flags);

// Parses SECRETS_URL; throws ClientError(kExitUsage). Credentials in the
// URL (user:pass@) are refused: they belong in SECRETS_API_KEY and friends.
Endpoint parse_url(const std::string& url);

// localhost, 127.0.0.0/8 and ::1.
bool is_loopback_host(const std::string& host);

// Plain http is for loopback only unless `insecure`; throws ClientError(kExitUsage).
void check_transport(const Endpoint& endpoint, bool insecure);

}  // namespace secrets_client
