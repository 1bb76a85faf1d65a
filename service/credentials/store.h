// Administering app and node credentials (secretsd.apps,
// secretsd.app_households, secretsd.nodes): creating, rotating and revoking
// them. Only keyed hashes are stored; each function is one statement, run in
// the caller's transaction so that the admin audit entry commits with it.
// Reading them for authentication is identity/credential_store.h's.
#pragma once

#include <string>
#include <vector>

#include <pqxx/transaction_base>

namespace secretsd::credentials::store {

enum class WriteOutcome { Ok, NotFound, Conflict, UnknownHousehold };

// What an app may do in one household: 'read' or 'write', and when
// key_prefix is not empty only for keys that start with it.
struct AppGrant {
  std::string household_id;  // a validated, lower-case UUID
  std::string privilege = "write";
  std::string key_prefix;
};

// Creates the app (or re-creates a revoked one) with its grants.
WriteOutcome create_app(pqxx::transaction_base& tx, const std::string& app_id, const std::string& key_hash,
                        const std::string& description,
                        const std::vector<AppGrant>& grants);
// New key for an active app.
WriteOutcome rotate_app(pqxx::transaction_base& tx, const std::string& app_id, const std::string& key_hash);
WriteOutcome revoke_app(pqxx::transaction_base& tx, const std::string& app_id);
// Replaces the app's household grants. A key prefix that is not the start
// of a valid key is refused by secrets.check_key (SQLSTATE 22023).
WriteOutcome set_app_households(pqxx::transaction_base& tx, const std::string& app_id,
                                const std::vector<AppGrant>& grants);

WriteOutcome create_node(pqxx::transaction_base& tx, const std::string& node_id,
                         const std::string& household_id, const std::string& key_hash,
                         const std::string& description);
// New key for an active node; `household_id` receives the node's household.
WriteOutcome rotate_node(pqxx::transaction_base& tx, const std::string& node_id, const std::string& key_hash,
                         std::string& household_id);
WriteOutcome revoke_node(pqxx::transaction_base& tx, const std::string& node_id);

}  // namespace secretsd::credentials::store
