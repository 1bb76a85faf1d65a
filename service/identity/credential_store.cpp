#include "identity/credential_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/nontransaction>

#include "db/statement.h"

namespace secretsd::identity::credential_store {
namespace {

constexpr const char* kFindNode =
    "SELECT household_id, key_hash FROM secretsd.nodes WHERE node_id = $1 AND revoked_at IS NULL";

constexpr const char* kFindApp = R"(
SELECT a.key_hash, h.app_id IS NOT NULL, coalesce(h.privilege, ''), coalesce(h.key_prefix, '')
  FROM secretsd.apps a
  LEFT JOIN secretsd.app_households h
         ON h.app_id = a.app_id AND h.household_id = NULLIF($2, '')::uuid
 WHERE a.app_id = $1 AND a.revoked_at IS NULL)";

}  // namespace

std::optional<NodeRecord> find_node(db::Lease& lease, const std::string& node_id) {
  auto r = db::exec_params(lease, kFindNode, node_id);
  if (r.empty()) return std::nullopt;
  return NodeRecord{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
}

std::optional<AppRecord> find_app(db::Lease& lease, const std::string& app_id,
                                  const std::string& household_id) {
  auto r = db::exec_params(lease, kFindApp, app_id, household_id);
  if (r.empty()) return std::nullopt;
  return AppRecord{r[0][0].as<std::string>(), r[0][1].as<bool>(), r[0][2].as<std::string>(),
                   r[0][3].as<std::string>()};
}

std::vector<std::string> no_longer_allowed(pqxx::connection& conn,
                                           const std::vector<ActingCaller>& callers) {
  // Passed as JSON: ids are validated, but a text[] literal would need its
  // own quoting rules.
  nlohmann::json list = nlohmann::json::array();
  for (const auto& c : callers) list.push_back({{"actor", c.actor}, {"household", c.household_id}});
  static const char* kSql = R"(
SELECT c.actor FROM jsonb_to_recordset($1::jsonb) AS c(actor text, household uuid)
 WHERE NOT CASE split_part(c.actor, ':', 1)
   WHEN 'node' THEN EXISTS (SELECT 1 FROM secretsd.nodes n
                             WHERE n.node_id = substr(c.actor, 6) AND n.revoked_at IS NULL
                               AND n.household_id = c.household)
   WHEN 'app' THEN EXISTS (SELECT 1 FROM secretsd.apps a
                             JOIN secretsd.app_households h ON h.app_id = a.app_id
                            WHERE a.app_id = substr(c.actor, 5) AND a.revoked_at IS NULL
                              AND h.household_id = c.household)
   ELSE true END)";
  pqxx::nontransaction tx(conn);
  std::vector<std::string> out;
  for (const auto& row : tx.exec_params(kSql, list.dump())) out.push_back(row[0].as<std::string>());
  return out;
}

}  // namespace secretsd::identity::credential_store
