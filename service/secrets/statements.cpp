#include "secrets/statements.h"

#include "db/context.h"

namespace secretsd::secrets {
namespace {

// $1 household, $2 actor, $3 calling node ('' = none), $4 role, $5 key
// prefix (db/context.h). An empty string stands for NULL in text
// parameters: libpqxx 6.4 has no portable optional.
#define SECRETSD_CONTEXT_COLUMNS SECRETSD_SET_CONTEXT " AS ctx"

// The extension's rules for the secret a statement names: key ($6), scope
// ($7) and node_id ($8, '' = none). Checked in the statement's first CTE, so
// that a malformed name gets the rule's own marked 400 (api/error.h)
// from the one place the rule is written.
#define SECRETSD_NAME_CHECKS                                                   \
  ", secrets.check_key($6::text) AS key_checked,"                             \
  " secrets.check_scope($7::text, NULLIF($8::text, '')) AS scope_checked"

// Milliseconds since the epoch: formatted in C++ (representation.cpp), so
// the result does not depend on the session's TimeZone or DateStyle.
#define SECRETSD_EPOCH_MS(col) "(extract(epoch FROM " col ") * 1000)::bigint"

// The metadata columns of a secrets.secret_metadata (or secrets.secret_with_value) row `m`.
#define SECRETSD_METADATA_COLUMNS                                              \
  "m.id, m.key, m.scope, m.node_id, m.value_type, m.description, m.has_value, " \
  "m.version, " SECRETSD_EPOCH_MS("m.created_at") " AS created_at_ms, "        \
  SECRETSD_EPOCH_MS("m.updated_at") " AS updated_at_ms, m.created_by, m.updated_by"

// The metadata and the value through secrets.read_secret(), so that the
// household's read auditing applies and both belong to one version. The
// statement lives in a PL/pgSQL function (migrations/0008_get_secret_row.sql,
// body replaced by 0011, role and key prefix added by 0012) so that its plan is cached although it is sent
// unnamed: planning it on every call cost more than running it.
const std::string kGetSql =
    "SELECT * FROM secretsd.get_secret_row($1::uuid, $2::text, $3::text, $4::text, $5::text,"
    " $6::text, $7::text, $8::text)";

// The page and the total in one statement; the LEFT JOIN keeps one row (with
// the total) when the page is empty.
// A scope filter ($6) is judged by secrets.check_scope as if it named a
// secret: a "node" filter without a node ($7) stands for any node.
const std::string kListSql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_CONTEXT_COLUMNS
    ", NULLIF($6::text, '') AS scope, NULLIF($7::text, '') AS node_id,"
    " CASE WHEN $6::text <> '' THEN secrets.check_scope($6::text, CASE WHEN $6::text = 'node'"
    " THEN coalesce(NULLIF($7::text, ''), '*') ELSE NULLIF($7::text, '') END) END AS scope_checked), "
    "l AS MATERIALIZED (SELECT m.* FROM c, LATERAL secrets.list_secrets(c.scope) m"
    " WHERE c.node_id IS NULL OR m.node_id = c.node_id) "
    "SELECT t.total, " SECRETSD_METADATA_COLUMNS " "
    "FROM (SELECT count(*) AS total FROM l) t LEFT JOIN LATERAL"
    " (SELECT * FROM l ORDER BY l.key, l.scope, l.node_id LIMIT $8::bigint OFFSET $9::bigint) m"
    " ON true "
    "ORDER BY m.key, m.scope, m.node_id";

const std::string kCreateSql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_CONTEXT_COLUMNS
    ", $6::text AS key, $7::text AS value, $8::text AS scope, $9::text AS value_type,"
    " NULLIF($10::text, '') AS node_id, CASE WHEN $12::boolean THEN $11::text END AS description) "
    "SELECT " SECRETSD_METADATA_COLUMNS " "
    "FROM c, LATERAL secrets.create_secret(c.key, c.value, c.scope, c.value_type,"
    " c.node_id, c.description) m";

const std::string kUpdateSql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_CONTEXT_COLUMNS
    ", $6::text AS key, $7::text AS scope, NULLIF($8::text, '') AS node_id,"
    " CASE WHEN $10::boolean THEN $9::text END AS value,"
    " CASE WHEN $12::boolean THEN $11::text END AS description,"
    " NULLIF($13::text, '')::integer AS expected_version) "
    "SELECT " SECRETSD_METADATA_COLUMNS " "
    "FROM c, LATERAL secrets.update_secret(c.key, c.scope, c.node_id, c.value, c.description,"
    " c.expected_version) m";

const std::string kDeleteSql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_CONTEXT_COLUMNS SECRETSD_NAME_CHECKS
    ", $6::text AS key, $7::text AS scope, NULLIF($8::text, '') AS node_id,"
    " NULLIF($9::text, '')::integer AS expected_version) "
    "SELECT d.deleted FROM c,"
    " LATERAL secrets.delete_secret(c.key, c.scope, c.node_id, c.expected_version) AS d(deleted)";

// The CTE every per-secret statement below starts with: the context, then
// key ($6), scope ($7) and node_id ($8, '' = none).
#define SECRETSD_KEY_CTE                                                     \
  "WITH c AS MATERIALIZED (SELECT " SECRETSD_CONTEXT_COLUMNS SECRETSD_NAME_CHECKS \
  ", $6::text AS key, $7::text AS scope, NULLIF($8::text, '') AS node_id"

// One kept version ($9) with its value (secrets.read_secret: read-audited):
// the secret's identity and description, that version's type, author and
// time. No row when the secret or the version is not there.
const std::string kGetVersionSql =
    SECRETSD_KEY_CTE ", $9::integer AS version) "
    "SELECT " SECRETSD_METADATA_COLUMNS ", m.value "
    "FROM c, LATERAL secrets.read_secret(c.key, c.scope, c.node_id, c.version) m";

const std::string kVersionsSql =
    SECRETSD_KEY_CTE ") "
    "SELECT l.version, l.is_current, l.value_type, l.has_value, l.key_version,"
    " " SECRETSD_EPOCH_MS("l.written_at") " AS written_at_ms, l.written_by,"
    " " SECRETSD_EPOCH_MS("l.deleted_at") " AS deleted_at_ms "
    "FROM c, LATERAL secrets.list_secret_versions(c.key, c.scope, c.node_id) l "
    "ORDER BY l.version DESC";

const std::string kRollbackSql =
    SECRETSD_KEY_CTE ", $9::integer AS to_version, NULLIF($10::text, '')::integer AS expected_version) "
    "SELECT " SECRETSD_METADATA_COLUMNS " "
    "FROM c, LATERAL secrets.rollback_secret(c.key, c.scope, c.to_version, c.node_id,"
    " c.expected_version) m";

const std::string kRestoreSql =
    SECRETSD_KEY_CTE ") "
    "SELECT " SECRETSD_METADATA_COLUMNS " "
    "FROM c, LATERAL secrets.restore_secret(c.key, c.scope, c.node_id) m";

#undef SECRETSD_KEY_CTE

#undef SECRETSD_NAME_CHECKS
#undef SECRETSD_METADATA_COLUMNS
#undef SECRETSD_EPOCH_MS
#undef SECRETSD_CONTEXT_COLUMNS

}  // namespace


const std::string& get_secret_sql() { return kGetSql; }

pqxx::result SecretsStatements::get(const std::string& key,
                                    const std::string& scope, const std::string& node_id) {
  return session_.exec(kGetSql, key, scope, node_id);
}

pqxx::result SecretsStatements::list(const std::string& scope_filter,
                                     const std::string& node_filter, int limit, long long offset) {
  return session_.exec(kListSql, scope_filter,
                           node_filter, limit, offset);
}

pqxx::result SecretsStatements::create(const std::string& key,
                                       const std::string& value, const std::string& scope,
                                       const std::string& value_type, const std::string& node_id,
                                       const std::optional<std::string>& description) {
  return session_.exec(kCreateSql, key, value, scope,
                           value_type, node_id, description.value_or(""),
                           description.has_value());
}

namespace {
// '' stands for "no expectation" (SQL NULL).
std::string expected_text(const std::optional<int>& expected_version) {
  return expected_version ? std::to_string(*expected_version) : std::string();
}
}  // namespace

pqxx::result SecretsStatements::update(const std::string& key,
                                       const std::string& scope, const std::string& node_id,
                                       const std::optional<std::string>& value,
                                       const std::optional<std::string>& description,
                                       const std::optional<int>& expected_version) {
  return session_.exec(kUpdateSql, key, scope,
                           node_id, value.value_or(""), value.has_value(),
                           description.value_or(""), description.has_value(),
                           expected_text(expected_version));
}

pqxx::result SecretsStatements::remove(const std::string& key,
                                       const std::string& scope, const std::string& node_id,
                                       const std::optional<int>& expected_version) {
  return session_.exec(kDeleteSql, key, scope,
                           node_id, expected_text(expected_version));
}

pqxx::result SecretsStatements::get_version(const std::string& key,
                                            const std::string& scope, const std::string& node_id,
                                            int version) {
  return session_.exec(kGetVersionSql, key, scope,
                           node_id, version);
}

pqxx::result SecretsStatements::versions(const std::string& key,
                                         const std::string& scope, const std::string& node_id) {
  return session_.exec(kVersionsSql, key, scope,
                           node_id);
}

pqxx::result SecretsStatements::rollback(const std::string& key,
                                         const std::string& scope, const std::string& node_id,
                                         int to_version,
                                         const std::optional<int>& expected_version) {
  return session_.exec(kRollbackSql, key, scope,
                           node_id, to_version, expected_text(expected_version));
}

pqxx::result SecretsStatements::restore(const std::string& key,
                                        const std::string& scope, const std::string& node_id) {
  return session_.exec(kRestoreSql, key, scope,
                           node_id);
}

}  // namespace secretsd::secrets
