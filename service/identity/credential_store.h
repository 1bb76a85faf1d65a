// The credentials of apps and nodes as authentication reads them
// (secretsd.apps, secretsd.app_households, secretsd.nodes): an active
// caller's stored keyed hash, and which acting callers lost their right to
// act. Only keyed hashes are stored; each function is one round trip.
// Writing them is the credentials module's (credentials/module.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/pool.h"

namespace secretsd::identity::credential_store {

struct NodeRecord {
  std::string household_id;
  std::string key_hash;
};
// An active (not revoked) node.
std::optional<NodeRecord> find_node(db::Lease& lease, const std::string& node_id);

struct AppRecord {
  std::string key_hash;
  bool household_granted = false;  // `household_id` is in app_households
  std::string privilege;           // of that grant: "read" | "write"
  std::string key_prefix;          // of that grant; empty = every key
};
// An active app; `household_id` may be empty (no household asked for).
std::optional<AppRecord> find_app(db::Lease& lease, const std::string& app_id,
                                  const std::string& household_id);

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

}  // namespace secretsd::identity::credential_store
