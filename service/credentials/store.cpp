#include "credentials/store.h"

#include <pqxx/except>

#include "db/statement.h"

namespace secretsd::credentials::store {
namespace {

// A revoked app id may be issued again; an active one is a conflict.
constexpr const char* kCreateApp = R"(
WITH a AS (
  INSERT INTO secretsd.apps (app_id, key_hash, description) VALUES ($1, $2, NULLIF($3, ''))
  ON CONFLICT (app_id) DO UPDATE
     SET key_hash = EXCLUDED.key_hash, description = EXCLUDED.description,
         created_at = now(), rotated_at = NULL, revoked_at = NULL
   WHERE secretsd.apps.revoked_at IS NOT NULL
  RETURNING app_id
), g AS (
  INSERT INTO secretsd.app_households (app_id, household_id)
  SELECT a.app_id, s.h FROM a, (SELECT DISTINCT unnest($4::uuid[]) AS h) s
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM a)";

constexpr const char* kRotateApp =
    "UPDATE secretsd.apps SET key_hash = $2, rotated_at = now() "
    "WHERE app_id = $1 AND revoked_at IS NULL RETURNING app_id";

// Grants go with the revocation, so a re-created app starts with none.
constexpr const char* kRevokeApp = R"(
WITH a AS (
  UPDATE secretsd.apps SET revoked_at = now()
   WHERE app_id = $1 AND revoked_at IS NULL RETURNING app_id
), d AS (
  DELETE FROM secretsd.app_households h USING a WHERE h.app_id = a.app_id
)
SELECT count(*) FROM a)";

// Deletes and inserts touch disjoint rows, so one statement can do both.
constexpr const char* kSetAppHouseholds = R"(
WITH a AS (
  SELECT app_id FROM secretsd.apps WHERE app_id = $1 AND revoked_at IS NULL FOR UPDATE
), d AS (
  DELETE FROM secretsd.app_households h USING a
   WHERE h.app_id = a.app_id AND h.household_id <> ALL ($2::uuid[])
), g AS (
  INSERT INTO secretsd.app_households (app_id, household_id)
  SELECT a.app_id, s.h FROM a, (SELECT DISTINCT unnest($2::uuid[]) AS h) s
  ON CONFLICT DO NOTHING
)
SELECT count(*) FROM a)";

constexpr const char* kCreateNode = R"(
INSERT INTO secretsd.nodes (node_id, household_id, key_hash, description)
VALUES ($1, $2::uuid, $3, NULLIF($4, ''))
ON CONFLICT (node_id) DO UPDATE
   SET household_id = EXCLUDED.household_id, key_hash = EXCLUDED.key_hash,
       description = EXCLUDED.description, created_at = now(), rotated_at = NULL, revoked_at = NULL
 WHERE secretsd.nodes.revoked_at IS NOT NULL
RETURNING node_id)";

constexpr const char* kRotateNode =
    "UPDATE secretsd.nodes SET key_hash = $2, rotated_at = now() "
    "WHERE node_id = $1 AND revoked_at IS NULL RETURNING household_id";

constexpr const char* kRevokeNode =
    "UPDATE secretsd.nodes SET revoked_at = now() "
    "WHERE node_id = $1 AND revoked_at IS NULL RETURNING node_id";

// Callers pass validated UUIDs only, so no element needs quoting.
std::string uuid_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += ids[i];
  }
  return out + "}";
}

WriteOutcome found_if(bool found) { return found ? WriteOutcome::Ok : WriteOutcome::NotFound; }

}  // namespace

WriteOutcome create_app(db::Lease& lease, const std::string& app_id, const std::string& key_hash,
                        const std::string& description,
                        const std::vector<std::string>& household_ids) {
  try {
    auto r = db::exec_params(lease, kCreateApp, app_id, key_hash, description,
                             uuid_array(household_ids));
    return r.at(0)[0].as<long>() == 1 ? WriteOutcome::Ok : WriteOutcome::Conflict;
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome rotate_app(db::Lease& lease, const std::string& app_id, const std::string& key_hash) {
  return found_if(!db::exec_params(lease, kRotateApp, app_id, key_hash).empty());
}

WriteOutcome revoke_app(db::Lease& lease, const std::string& app_id) {
  return found_if(db::exec_params(lease, kRevokeApp, app_id).at(0)[0].as<long>() == 1);
}

WriteOutcome set_app_households(db::Lease& lease, const std::string& app_id,
                                const std::vector<std::string>& household_ids) {
  try {
    auto r = db::exec_params(lease, kSetAppHouseholds, app_id, uuid_array(household_ids));
    return found_if(r.at(0)[0].as<long>() == 1);
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome create_node(db::Lease& lease, const std::string& node_id,
                         const std::string& household_id, const std::string& key_hash,
                         const std::string& description) {
  try {
    auto r = db::exec_params(lease, kCreateNode, node_id, household_id, key_hash, description);
    return r.empty() ? WriteOutcome::Conflict : WriteOutcome::Ok;
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome rotate_node(db::Lease& lease, const std::string& node_id, const std::string& key_hash,
                         std::string& household_id) {
  auto r = db::exec_params(lease, kRotateNode, node_id, key_hash);
  if (r.empty()) return WriteOutcome::NotFound;
  household_id = r[0][0].as<std::string>();
  return WriteOutcome::Ok;
}

WriteOutcome revoke_node(db::Lease& lease, const std::string& node_id) {
  return found_if(!db::exec_params(lease, kRevokeNode, node_id).empty());
}

}  // namespace secretsd::credentials::store
