// SQL for app and node credentials (secretsd.apps, secretsd.app_households,
// secretsd.nodes). Only keyed hashes are stored; each function is one round
// trip.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/pool.h"

namespace secretsd::credential_store {

// ---- lookups for authentication -----------------------------------------

struct NodeRecord {
  std::string household_id;
  std::string key_hash;
};
// An active (not revoked) node.
std::optional<NodeRecord> find_node(db::Lease& lease, const std::string& node_id);

struct AppRecord {
  std::string key_hash;
  bool household_granted = false;  // `household_id` is in app_households
};
// An active app; `household_id` may be empty (no household asked for).
std::optional<AppRecord> find_app(db::Lease& lease, const std::string& app_id,
                                  const std::string& household_id);

// ---- administration ---------------------------------------------------------

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

// Of `callers` ("node:<id>" or "app:<id>", each with the household it acts
// for), those whose credentials no longer let them act there: revoked, or
// an app whose grant of that household was withdrawn. One statement for
// them all (the change hub asks at every heartbeat).
struct ActingCaller {
  std::string actor;
  std::string household_id;
};
std::vector<std::string> no_longer_allowed(pqxx::connection& conn,
                                           const std::vector<ActingCaller>& callers);

}  // namespace secretsd::credential_store
