// The /api/secrets calls the `secrets` command makes. Every failure is a
// ClientError whose code comes from exit_code_for_status (errors.h) and
// whose message is the status and the server's message, which never holds
// a value.
#pragma once

#include <string>
#include <vector>

#include "secrets_cli/config.h"
#include "secrets_cli/http_client.h"

namespace secrets_client {

struct SecretMeta {
  std::string key, scope, node_id, value_type, updated_at;
  long long version = 0;
};

// Which secret: empty fields are left to the server's defaults (scope
// integration; a node's node scope means its own node).
struct Selector {
  std::string scope;
  std::string node_id;
};

class SecretsApi {
 public:
  explicit SecretsApi(const ClientConfig& config) : http_(config) {}

  // Every page of GET /api/secrets: metadata only.
  std::vector<SecretMeta> list(const Selector& filter);
  // GET /api/secrets/{key}: the value ("" for a secret without one).
  std::string get_value(const std::string& key, const Selector& which);
  // POST, or PUT when the server says the secret exists (409). `value_type`
  // ("" = the server's default) applies on creation only.
  void set(const std::string& key, const std::string& value, const Selector& which,
           const std::string& value_type);
  // DELETE /api/secrets/{key}.
  void remove(const std::string& key, const Selector& which);

 private:
  Response checked(const std::string& method, const std::string& path,
                   const std::optional<std::string>& body = std::nullopt);
  HttpClient http_;
};

}  // namespace secrets_client
