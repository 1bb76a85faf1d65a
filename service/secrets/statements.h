// The SQL behind /api/secrets: one statement per operation, each a
// single round trip that first sets the household context and then calls
// the extension's API.
//
// Why a single statement is safe: secrets.set_context() lasts for the
// current transaction, and outside a transaction block (pqxx::nontransaction,
// extended protocol, one Sync per statement) that is the statement itself,
// so the context can never outlive the request. The call sits in a
// MATERIALIZED CTE whose columns also carry every argument; the work is a
// LATERAL function call (or an OFFSET 0 subquery, which PostgreSQL never
// pulls up) that takes its arguments from that CTE, so the planner must scan
// the CTE -- and run set_context -- before it. Nothing here can run first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <pqxx/result>

#include "db/session.h"

namespace secretsd::secrets {

// The statements, sent unnamed (exec_params: no server-side prepared
// statement, so PgBouncer's transaction mode works); `tx` is a
// pqxx::nontransaction in a db::Session, which passes the caller's context
// as $1..$3. Metadata columns: id, key, scope, node_id, value_type,
// description, has_value, version, created_at_ms, updated_at_ms (epoch ms),
// created_by, updated_by.
class SecretsStatements {
 public:
  explicit SecretsStatements(db::Session& session) : session_(session) {}

  // Metadata plus `value` (read through secrets.get_secret, so read-audited);
  // no row when the secret is not visible.
  pqxx::result get(const std::string& key, const std::string& scope,
                   const std::string& node_id);
  // First column `total` (rows matching the filters); one row with null
  // metadata when the page is empty.
  pqxx::result list(const std::string& scope_filter,
                    const std::string& node_filter, int limit, long long offset);
  pqxx::result create(const std::string& key,
                      const std::string& value, const std::string& scope,
                      const std::string& value_type, const std::string& node_id,
                      const std::optional<std::string>& description);
  // `expected_version`: the version the caller read (If-Match); a different
  // current version fails with SQLSTATE SE005 and changes nothing.
  pqxx::result update(const std::string& key,
                      const std::string& scope, const std::string& node_id,
                      const std::optional<std::string>& value,
                      const std::optional<std::string>& description,
                      const std::optional<int>& expected_version);
  // One row, column `deleted` (boolean).
  pqxx::result remove(const std::string& key,
                      const std::string& scope, const std::string& node_id,
                      const std::optional<int>& expected_version);
  // Metadata (version, type, author and time of that version) plus `value`;
  // no row when the secret or that version is not kept. Read-audited.
  pqxx::result get_version(const std::string& key,
                           const std::string& scope, const std::string& node_id, int version);
  // version, is_current, value_type, has_value, key_version, written_at_ms,
  // written_by, deleted_at_ms; newest first; no row when there is no secret.
  pqxx::result versions(const std::string& key,
                        const std::string& scope, const std::string& node_id);
  // The new current version's metadata (P0002 when the version is not kept).
  pqxx::result rollback(const std::string& key,
                        const std::string& scope, const std::string& node_id, int to_version,
                        const std::optional<int>& expected_version);
  // The restored secret's metadata (P0002 no deleted secret, SE006 too late).
  pqxx::result restore(const std::string& key,
                       const std::string& scope, const std::string& node_id);

 private:
  db::Session& session_;
};

// The text of the GET statement, for the benchmark's pgbench script.
const std::string& get_secret_sql();

}  // namespace secretsd::secrets
