#include "secrets_cli/secrets_api.h"

#include <nlohmann/json.hpp>

#include "secrets_cli/errors.h"

namespace secrets_client {
namespace {

using nlohmann::json;

constexpr int kPageSize = 500;  // the server's largest page

std::string query(const Selector& s) {
  std::string q;
  auto add = [&q](const char* name, const std::string& v) {
    if (v.empty()) return;
    q += (q.empty() ? "?" : "&") + std::string(name) + "=" + url_encode(v);
  };
  add("scope", s.scope);
  add("node_id", s.node_id);
  return q;
}

void add_selector(json& body, const Selector& s) {
  if (!s.scope.empty()) body["scope"] = s.scope;
  if (!s.node_id.empty()) body["node_id"] = s.node_id;
}

std::string text(const json& obj, const char* name) {
  auto it = obj.find(name);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json parse_body(const Response& r) {
  json body = json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    throw failure("the server answered " + std::to_string(r.status) +
                  " with a body that is not a JSON object");
  }
  return body;
}

std::string key_path(const std::string& key) {
  return "/api/secrets/" + url_encode(key);
}

// Passes a 2xx through; anything else ends the command with its exit code.
Response ensure_ok(Response r) {
  if (r.status >= 200 && r.status < 300) return r;
  // The server's messages name keys and fields, never values or credentials.
  json err = json::parse(r.body, nullptr, false);
  std::string message = err.is_object() ? text(err, "message") : std::string();
  throw ClientError(exit_code_for_status(r.status), "server answered " + std::to_string(r.status) +
                                                        (message.empty() ? std::string() : ": " + message));
}

}  // namespace

Response SecretsApi::checked(const std::string& method, const std::string& path,
                             const std::optional<std::string>& body) {
  return ensure_ok(http_.send(method, path, body));
}

std::vector<SecretMeta> SecretsApi::list(const Selector& filter) {
  std::vector<SecretMeta> out;
  const std::string q = query(filter);
  for (long long offset = 0;;) {
    const std::string path = "/api/secrets" + q + (q.empty() ? "?" : "&") +
                             "limit=" + std::to_string(kPageSize) + "&offset=" + std::to_string(offset);
    json page = parse_body(checked("GET", path));
    const json& data = page["data"];
    if (!data.is_array()) throw failure("the server's list has no data array");
    for (const json& m : data) {
      if (!m.is_object()) continue;
      SecretMeta s;
      s.key = text(m, "key");
      s.scope = text(m, "scope");
      s.node_id = text(m, "nodeId");
      s.value_type = text(m, "valueType");
      s.updated_at = text(m, "updatedAt");
      s.version = m.value("version", 0LL);
      out.push_back(std::move(s));
    }
    const json& p = page["pagination"];
    if (data.empty() || !p.is_object() || !p.value("hasMore", false)) break;
    offset += static_cast<long long>(data.size());
  }
  return out;
}

std::string SecretsApi::get_value(const std::string& key, const Selector& which) {
  json body = parse_body(checked("GET", key_path(key) + query(which)));
  const json& data = body["data"];
  if (!data.is_object()) throw failure("the server's answer has no data object");
  return text(data, "value");
}

void SecretsApi::set(const std::string& key, const std::string& value, const Selector& which,
                     const std::string& value_type) {
  json create{{"key", key}, {"value", value}};
  add_selector(create, which);
  if (!value_type.empty()) create["value_type"] = value_type;
  Response r = http_.send("POST", "/api/secrets", create.dump());
  if (r.status != 409) {
    ensure_ok(std::move(r));
    return;
  }
  json update{{"value", value}};
  add_selector(update, which);
  checked("PUT", key_path(key), update.dump());
}

void SecretsApi::remove(const std::string& key, const Selector& which) {
  checked("DELETE", key_path(key) + query(which));
}

}  // namespace secrets_client
