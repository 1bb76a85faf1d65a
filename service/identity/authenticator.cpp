#include "identity/authenticator.h"

#include <iostream>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>
#include <pqxx/transaction>

#include "admin_audit/admin_audit.h"
#include "crypto/keyed_hash.h"
#include "db/databases.h"
#include "db/statement.h"
#include "db/tx.h"
#include "http/ascii.h"
#include "identity/api_keys.h"
#include "identity/credential_store.h"
#include "identity/validation.h"

namespace secretsd::identity {
namespace {

using api::AuthOutcome;
using api::AuthResult;
using api::Caller;
using api::CallerKind;

// Compared against when a node or app id is unknown, so that case does the
// same hashing work as a wrong key.
constexpr std::string_view kNoSuchHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

AuthResult ok(Caller caller) { return {AuthOutcome::Ok, std::move(caller)}; }
AuthResult fail(AuthOutcome outcome) { return {outcome, std::nullopt}; }

// Nodes write their own rows (row-level security narrows them further);
// apps write until scoped grants name their role (issue 22, later).
constexpr const char* kNodeRole = "writer";

// One round trip: liveness, the user's flags and role in the household,
// the household's two-factor requirement, and last_used_at kept to the
// minute (migrations/0012, 0015).
constexpr const char* kCheckSession =
    "SELECT live, second_factor, instance_admin, role, require_two_factor "
    "FROM secretsd.check_session($1::uuid, $2::uuid, NULLIF($3, '')::uuid)";

std::string string_claim(const JwtClaims& claims, const char* name) {
  auto it = claims.extra.find(name);
  return it != claims.extra.end() && it->is_string() ? it->get<std::string>() : std::string();
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

}  // namespace

CredentialAuthenticator::CredentialAuthenticator(db::Databases& databases, TokenOptions tokens,
                                                 std::optional<std::string> admin_api_key,
                                                 std::string credential_pepper)
    : databases_(databases),
      tokens_(std::move(tokens)),
      admin_api_key_(std::move(admin_api_key)),
      credential_pepper_(std::move(credential_pepper)) {}

std::optional<SessionState> CredentialAuthenticator::session_state(const std::string& session_id,
                                                                  const std::string& user_id,
                                                                  const std::string& household_id) {
  if (auto cached = sessions_.find(session_id, household_id)) return cached;
  const auto checked_at = sessions_.now();
  pqxx::result rows;
  {
    auto lease = databases_.primary();
    rows = db::exec_params(lease, kCheckSession, session_id, user_id, household_id);
  }
  if (rows.empty() || !rows[0][0].as<bool>()) return std::nullopt;
  SessionState state;
  state.household_id = household_id;
  state.second_factor = rows[0][1].as<bool>();
  state.instance_admin = rows[0][2].as<bool>();
  state.role = rows[0][3].is_null() ? std::string() : rows[0][3].as<std::string>();
  state.require_two_factor = rows[0][4].as<bool>();
  sessions_.remember(session_id, user_id, state, checked_at);
  return state;
}

// The token, then its session (live, checked against PostgreSQL at most a
// second ago), then the household: X-Household-Id when sent (it must be a
// membership: 403 otherwise, the same for a household that does not
// exist), else the token's hid when still a membership, else none (user
// routes work, household routes refuse).
AuthResult CredentialAuthenticator::authenticate_user(const api::Request& req) {
  const std::string authorization = req.header("Authorization");
  auto token = bearer_token(authorization);
  if (!token) return fail(AuthOutcome::Invalid);
  auto verified = verify_access_token(tokens_, *token);
  if (!verified.ok()) return fail(AuthOutcome::Invalid);
  const JwtClaims& claims = *verified.claims;
  const std::string session_id = http::ascii_lower(string_claim(claims, kSessionClaim));
  const std::string user_id = http::ascii_lower(claims.sub);
  if (!is_uuid(session_id) || !is_uuid(user_id) || !is_uuid(claims.household)) {
    return fail(AuthOutcome::Invalid);
  }
  const bool names_household = req.has_header("X-Household-Id");
  std::string household = names_household ? req.header("X-Household-Id") : claims.household;
  // Forbidden names the kind, for the refusal's words (api/access.cpp).
  Caller caller;
  caller.kind = CallerKind::User;
  caller.user_id = user_id;
  caller.session_id = session_id;
  if (!is_uuid(household)) {
    if (!names_household) return fail(AuthOutcome::Invalid);
    // Checked like any other household: the session must be live first.
    if (!session_state(session_id, user_id, "")) return fail(AuthOutcome::Invalid);
    return {AuthOutcome::Forbidden, std::move(caller)};
  }
  household = http::ascii_lower(household);

  auto state = session_state(session_id, user_id, household);
  if (!state) return fail(AuthOutcome::Invalid);
  if (names_household && state->role.empty()) return {AuthOutcome::Forbidden, std::move(caller)};
  // The one place a household's two-factor requirement is enforced: a
  // session without a second factor acts for no household there.
  if (!state->role.empty() && state->require_two_factor && !state->second_factor) {
    caller.needs_second_factor = true;
  } else if (!state->role.empty()) {
    caller.household_id = household;
    caller.household_role = state->role;
  }
  caller.instance_admin = state->instance_admin;
  caller.second_factor = state->second_factor;
  caller.expires_at = claims.exp;
  return ok(std::move(caller));
}

AuthResult CredentialAuthenticator::authenticate_node(std::string_view header) {
  auto key = parse_node_api_key(header);
  if (!key) return fail(AuthOutcome::Invalid);
  auto caller = check_node_key(key->node_id, key->api_key);
  return caller ? ok(std::move(*caller)) : fail(AuthOutcome::Invalid);
}

AuthResult CredentialAuthenticator::authenticate_app(const api::Request& req) {
  const std::string app_id = req.header("X-Jarvis-App-Id");
  const std::string app_key = req.header("X-Jarvis-App-Key");
  if (app_key.empty() || !is_valid_app_id(app_id)) return fail(AuthOutcome::Invalid);
  std::string household = req.header("X-Household-Id");
  const bool wants_household = req.has_header("X-Household-Id");
  const bool household_ok = is_uuid(household);
  household = household_ok ? http::ascii_lower(household) : std::string();

  auto lease = databases_.primary();
  auto record = credential_store::find_app(lease, app_id, household);
  std::string_view stored = record ? std::string_view(record->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(app_key, stored, credential_pepper_) || !record) {
    return fail(AuthOutcome::Invalid);
  }
  if (wants_household && (!household_ok || !record->household_granted)) {
    return fail(AuthOutcome::Forbidden);
  }
  Caller caller;
  caller.kind = CallerKind::App;
  caller.app_id = app_id;
  caller.household_id = household;
  if (wants_household) {
    // The extension's vocabulary: a read grant acts as a reader, a write grant as a writer.
    caller.household_role = record->privilege == "read" ? "reader" : "writer";
    caller.key_prefix = record->key_prefix;
  }
  return ok(std::move(caller));
}

// The break-glass key. Each use is recorded before the request goes on: if
// the audit cannot be written, the key is not accepted.
AuthResult CredentialAuthenticator::authenticate_admin(const api::Request& req) const {
  if (!admin_api_key_ || !constant_time_equal(req.header("X-Admin-Key"), *admin_api_key_)) {
    return fail(AuthOutcome::Invalid);
  }
  Caller caller;
  caller.kind = CallerKind::Admin;
  const nlohmann::json detail = {{"method", req.method()}, {"path", req.path()}};
  auto lease = databases_.primary();
  db::with_tx(lease, [&](pqxx::work& tx) {
    admin_audit::record(tx, caller.actor(), "break_glass.use", "", detail);
  });
  // One write per line, so that concurrent requests never interleave.
  const std::string line =
      nlohmann::json{{"event", "break_glass_key_used"}, {"method", req.method()}, {"path", req.path()}}
          .dump() + "\n";
  std::cerr << line << std::flush;
  return ok(std::move(caller));
}

std::optional<Caller> CredentialAuthenticator::check_node_key(const std::string& node_id,
                                                              const std::string& key) {
  if (!is_valid_node_id(node_id) || key.empty()) return std::nullopt;
  auto lease = databases_.primary();
  auto node = credential_store::find_node(lease, node_id);
  std::string_view stored = node ? std::string_view(node->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(key, stored, credential_pepper_) || !node) return std::nullopt;
  Caller caller;
  caller.kind = CallerKind::Node;
  caller.node_id = node_id;
  caller.household_id = node->household_id;
  caller.household_role = kNodeRole;
  return caller;
}

std::optional<Caller> CredentialAuthenticator::check_app_key(const std::string& app_id,
                                                             const std::string& key) {
  if (!is_valid_app_id(app_id) || key.empty()) return std::nullopt;
  auto lease = databases_.primary();
  auto record = credential_store::find_app(lease, app_id, "");
  std::string_view stored = record ? std::string_view(record->key_hash) : kNoSuchHash;
  if (!matches_keyed_hash(key, stored, credential_pepper_) || !record) return std::nullopt;
  Caller caller;
  caller.kind = CallerKind::App;
  caller.app_id = app_id;
  return caller;
}

// Every credential header read here is its raw bytes as sent, at most one of
// each: http/head_screen.h refuses '%', NUL and repeats in them before
// httplib parses (and would percent-decode or cut) them. Failures are
// counted by the caller, api::authorize().
AuthResult CredentialAuthenticator::authenticate(const api::Request& req) {
  if (req.has_header("Authorization")) return authenticate_user(req);
  if (req.has_header("X-API-Key")) return authenticate_node(req.header("X-API-Key"));
  if (req.has_header("X-Jarvis-App-Id") || req.has_header("X-Jarvis-App-Key")) {
    return authenticate_app(req);
  }
  if (req.has_header("X-Admin-Key")) return authenticate_admin(req);
  return fail(AuthOutcome::Missing);
}

}  // namespace secretsd::identity
