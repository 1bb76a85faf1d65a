#include "credentials/store.h"

#include <pqxx/except>


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
  INSERT INTO secretsd.app_households (app_id, household_id, privilege, key_prefix)
  SELECT a.app_id, s.h, s.p, s.k
    FROM a, (SELECT DISTINCT ON (h) h, p, NULLIF(k, '') AS k
               FROM unnest($4::uuid[], $5::text[], $6::text[]) AS u (h, p, k)) s
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
  INSERT INTO secretsd.app_households AS x (app_id, household_id, privilege, key_prefix)
  SELECT a.app_id, s.h, s.p, s.k
    FROM a, (SELECT DISTINCT ON (h) h, p, NULLIF(k, '') AS k
               FROM unnest($2::uuid[], $3::text[], $4::text[]) AS u (h, p, k)) s
  ON CONFLICT (app_id, household_id) DO UPDATE
     SET privilege = EXCLUDED.privilege, key_prefix = EXCLUDED.key_prefix
)
SELECT count(*) FROM a)";

// The key grammar is the extension's: a prefix must itself be a valid key.
constexpr const char* kCheckPrefixes =
    "SELECT secrets.check_key(k) FROM unnest($1::text[]) AS k WHERE k <> ''";

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

// A PostgreSQL array literal of `field` of each grant. Every element is
// quoted; values never hold '"' or '\\' (UUIDs, 'read'/'write', and prefixes,
// which are checked against the key grammar before they are stored), but
// escaping them costs nothing and keeps a mistake from becoming SQL.
template <typename Field>
std::string array_of(const std::vector<AppGrant>& grants, Field field) {
  std::string out = "{";
  for (std::size_t i = 0; i < grants.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : grants[i].*field) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// Refuses a prefix outside the key grammar before anything is written.
void check_prefixes(pqxx::transaction_base& tx, const std::vector<AppGrant>& grants) {
  tx.exec_params(kCheckPrefixes, array_of(grants, &AppGrant::key_prefix));
}

WriteOutcome found_if(bool found) { return found ? WriteOutcome::Ok : WriteOutcome::NotFound; }

}  // namespace

WriteOutcome create_app(pqxx::transaction_base& tx, const std::string& app_id, const std::string& key_hash,
                        const std::string& description,
                        const std::vector<AppGrant>& grants) {
  try {
    check_prefixes(tx, grants);
    auto r = tx.exec_params(kCreateApp, app_id, key_hash, description,
                            array_of(grants, &AppGrant::household_id),
                            array_of(grants, &AppGrant::privilege),
                            array_of(grants, &AppGrant::key_prefix));
    return r.at(0)[0].as<long>() == 1 ? WriteOutcome::Ok : WriteOutcome::Conflict;
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome rotate_app(pqxx::transaction_base& tx, const std::string& app_id, const std::string& key_hash) {
  return found_if(!tx.exec_params(kRotateApp, app_id, key_hash).empty());
}

WriteOutcome revoke_app(pqxx::transaction_base& tx, const std::string& app_id) {
  return found_if(tx.exec_params(kRevokeApp, app_id).at(0)[0].as<long>() == 1);
}

WriteOutcome set_app_households(pqxx::transaction_base& tx, const std::string& app_id,
                                const std::vector<AppGrant>& grants) {
  try {
    check_prefixes(tx, grants);
    auto r = tx.exec_params(kSetAppHouseholds, app_id, array_of(grants, &AppGrant::household_id),
                            array_of(grants, &AppGrant::privilege),
                            array_of(grants, &AppGrant::key_prefix));
    return found_if(r.at(0)[0].as<long>() == 1);
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome create_node(pqxx::transaction_base& tx, const std::string& node_id,
                         const std::string& household_id, const std::string& key_hash,
                         const std::string& description) {
  try {
    auto r = tx.exec_params(kCreateNode, node_id, household_id, key_hash, description);
    return r.empty() ? WriteOutcome::Conflict : WriteOutcome::Ok;
  } catch (const pqxx::foreign_key_violation&) {
    return WriteOutcome::UnknownHousehold;
  }
}

WriteOutcome rotate_node(pqxx::transaction_base& tx, const std::string& node_id, const std::string& key_hash,
                         std::string& household_id) {
  auto r = tx.exec_params(kRotateNode, node_id, key_hash);
  if (r.empty()) return WriteOutcome::NotFound;
  household_id = r[0][0].as<std::string>();
  return WriteOutcome::Ok;
}

WriteOutcome revoke_node(pqxx::transaction_base& tx, const std::string& node_id) {
  return found_if(!tx.exec_params(kRevokeNode, node_id).empty());
}

}  // namespace secretsd::credentials::store
