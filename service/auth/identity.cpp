#include "auth/identity.h"

#include <algorithm>
#include <cctype>

#include "app.h"
#include "http/ascii.h"
#include "auth/api_keys.h"
#include "auth/credential_store.h"
#include "auth/tokens.h"
#include "auth/validation.h"
#include "crypto/keyed_hash.h"
#include "metrics/metrics.h"

namespace secretsd {
namespace {

// Compared against when a node or app id is unknown, so that case does the
// same hashing work as a wrong key.
constexpr std::string_view kNoSuchHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

AuthResult ok(Caller caller) { return {AuthOutcome::Ok, std::move(caller)}; }
AuthResult fail(AuthOutcome outcome) { return {outcome, std::nullopt}; }

bool is_known_role(const std::string& role) {
  return role == "owner" || role == "admin" || role == "member";
}

// "Bearer <token>", scheme case-insensitive (RFC 7235).
std::optional<std::string_view> bearer_token(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size()) return std::nullopt;
  if (http::ascii_lower(std::string(header.substr(0, kScheme.size()))) != kScheme) return std::nullopt;
  auto token = header.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

AuthResult authenticate_user(std::string_view header, const App& app) {
  auto token = bearer_token(header);
  if (!token) return fail(AuthOutcome::Invalid);
  auto verified = verify_access_token(app, *token);
  if (!verified.ok()) return fail(AuthOutcome::Invalid);
  const JwtClaims& claims = *verified.claims;
  auto role = claims.extra.find("role");
  if (role == claims.extra.end() || !role->is_string() || !is_known_role(role->get<std::string>()) ||
      !is_uuid(claims.household) || !is_uuid(claims.sub)) {
    return fail(AuthOutcome::Invalid);
  }
  Caller caller;
  caller.kind = CallerKind::User;
  caller.user_id = claims.sub;
  caller.role = role->get<std::string>();
  caller.household_id = claims.household;
  caller.expires_at = claims.exp;
  return ok(std::move(caller));
}

AuthResult authenticate_node(std::string_view header, App& app) {
  auto key = parse_node_api_key(header);
  if (!key) return fail(AuthOutcome::Invalid);
  auto caller = check_node_key(app, key->node_id, key->api_key);
  return caller ? ok(std::move(*caller)) : fail(AuthOutcome::Invalid);
}

AuthResult authenticate_app(const httplib::Request& req, App& app) {
  const std::string app_id = req.get_header_value("X-Jarvis-App-Id");
  const std::string app_key = req.get_header_value("X-Jarvis-App-Key");
  if (app_key.empty() || !is_valid_app_id(app_id)) return fail(AuthOutcome::Invalid);
  std::string household = req.get_header_value("X-Household-Id");
  const bool wants_household = req.has_header("X-Household-Id");
  const bool household_ok = is_uuid(household);
  household = household_ok ? http::ascii_lower(household) : std::string();

  auto lease = app.connection();
  auto record = credential_store::find_app(lease, app_id, household);
  std::string_view stored = record ? std::string_view(record->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(app_key, stored, app.credential_pepper) || !record) {
    return fail(AuthOutcome::Invalid);
  }
  if (wants_household && (!household_ok || !record->household_granted)) {
    return fail(AuthOutcome::Forbidden);
  }
  Caller caller;
  caller.kind = CallerKind::App;
  caller.app_id = app_id;
  caller.household_id = household;
  return ok(std::move(caller));
}

AuthResult authenticate_admin(const std::string& presented, const App& app) {
  if (!app.config.admin_api_key || !constant_time_equal(presented, *app.config.admin_api_key)) {
    return fail(AuthOutcome::Invalid);
  }
  Caller caller;
  caller.kind = CallerKind::Admin;
  return ok(std::move(caller));
}

}  // namespace

std::optional<Caller> check_node_key(App& app, const std::string& node_id, const std::string& key) {
  if (!is_valid_node_id(node_id) || key.empty()) return std::nullopt;
  auto lease = app.connection();
  auto node = credential_store::find_node(lease, node_id);
  std::string_view stored = node ? std::string_view(node->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(key, stored, app.credential_pepper) || !node) return std::nullopt;
  Caller caller;
  caller.kind = CallerKind::Node;
  caller.node_id = node_id;
  caller.household_id = node->household_id;
  return caller;
}

std::optional<Caller> check_app_key(App& app, const std::string& app_id, const std::string& key) {
  if (!is_valid_app_id(app_id) || key.empty()) return std::nullopt;
  auto lease = app.connection();
  auto record = credential_store::find_app(lease, app_id, "");
  std::string_view stored = record ? std::string_view(record->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(key, stored, app.credential_pepper) || !record) return std::nullopt;
  Caller caller;
  caller.kind = CallerKind::App;
  caller.app_id = app_id;
  return caller;
}

std::string Caller::actor() const {
  switch (kind) {
    case CallerKind::User: return "user:" + user_id;
    case CallerKind::Node: return "node:" + node_id;
    case CallerKind::App: return "app:" + app_id;
    case CallerKind::Admin: return "admin";
    case CallerKind::Anonymous: return "anonymous";
  }
  return "unknown";
}

const char* Caller::kind_name() const {
  switch (kind) {
    case CallerKind::User: return "user";
    case CallerKind::Node: return "node";
    case CallerKind::App: return "app";
    case CallerKind::Admin: return "admin";
    case CallerKind::Anonymous: return "anonymous";
  }
  return "unknown";
}

namespace {

// Every credential header read here is its raw bytes as sent, at most one of
// each: http/head_screen.h refuses '%', NUL and repeats in them before
// httplib parses (and would percent-decode or cut) them.
AuthResult authenticate_any(const httplib::Request& req, App& app) {
  if (req.has_header("Authorization")) {
    return authenticate_user(req.get_header_value("Authorization"), app);
  }
  if (req.has_header("X-API-Key")) return authenticate_node(req.get_header_value("X-API-Key"), app);
  if (req.has_header("X-Jarvis-App-Id") || req.has_header("X-Jarvis-App-Key")) {
    return authenticate_app(req, app);
  }
  if (req.has_header("X-Admin-Key")) {
    return authenticate_admin(req.get_header_value("X-Admin-Key"), app);
  }
  return fail(AuthOutcome::Missing);
}

const char* failure_kind(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::Missing: return "missing";
    case AuthOutcome::Invalid: return "invalid";
    case AuthOutcome::Forbidden: return "forbidden";
    case AuthOutcome::Ok: break;
  }
  return nullptr;
}

}  // namespace

// Every route's authentication passes here: the one place failures are counted.
AuthResult authenticate(const httplib::Request& req, App& app) {
  AuthResult result = authenticate_any(req, app);
  if (const char* kind = failure_kind(result.outcome)) metrics::global().auth_failure(kind);
  return result;
}

}  // namespace secretsd
