// Administering app and node credentials (secretsd.apps,
// secretsd.app_households, secretsd.nodes): creating, rotating and revoking
// them. Only keyed hashes are stored; each function is one round trip.
// Reading them for authentication is identity/credential_store.h's.
#pragma once

#include <string>
#include <vector>

#include "db/pool.h"

namespace secretsd::credentials::store {

enum class WriteOutcome { Ok, NotFound, Conflict, UnknownHousehold };

// Creates the app (or re-creates a revoked one) with its households.
WriteOutcome create_app(db::Lease& lease, const std::string& app_id, const std::string& key_hash,
                        const std::string& description,
                        const std::vector<std::string>& household_ids);
// New key for an active app.
WriteOutcome rotate_app(db::Lease& lease, const std::string& app_id, const std::string& key_hash);
WriteOutcome revoke_app(db::Lease& lease, const std::string& app_id);
// Replaces the app's household grants.
WriteOutcome set_app_households(db::Lease& lease, const std::string& app_id,
                                const std::vector<std::string>& household_ids);

WriteOutcome create_node(db::Lease& lease, const std::string& node_id,
                         const std::string& household_id, const std::string& key_hash,
                         const std::string& description);
// New key for an active node; `household_id` receives the node's household.
WriteOutcome rotate_node(db::Lease& lease, const std::string& node_id, const std::string& key_hash,
                         std::string& household_id);
WriteOutcome revoke_node(db::Lease& lease, const std::string& node_id);

}  // namespace secretsd::credentials::store
