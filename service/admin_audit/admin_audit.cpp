#include "admin_audit/admin_audit.h"

#include <pqxx/pqxx>

namespace secretsd::admin_audit {
namespace {

constexpr const char* kRecord =
    "SELECT secretsd.record_admin_action($1::text, $2::text, $3::text, $4::jsonb)";

constexpr const char* kList =
    "SELECT seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), actor, "
    "       action, target, detail::text "
    "  FROM secretsd.admin_audit "
    " WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2) "
    "   AND ($3::timestamptz IS NULL OR at >= $3) AND ($4::timestamptz IS NULL OR at < $4) "
    "   AND ($5::bigint IS NULL OR seq < $5) "
    " ORDER BY seq DESC LIMIT $6";

constexpr const char* kVerify = "SELECT seq FROM secretsd.verify_admin_audit()";

// libpqxx 6.4 has no std::optional parameters: a null const char* is SQL NULL.
const char* or_null(const std::optional<std::string>& value) {
  return value ? value->c_str() : nullptr;
}

}  // namespace

void record(pqxx::transaction_base& tx, const std::string& actor, std::string_view action,
            const std::string& target, const nlohmann::json& detail) {
  tx.exec_params(kRecord, actor, std::string(action), target, detail.dump());
}

std::vector<Entry> list(pqxx::transaction_base& tx, const Filter& filter) {
  std::vector<Entry> out;
  const std::optional<std::string> before =
      filter.before_seq ? std::optional<std::string>(std::to_string(*filter.before_seq)) : std::nullopt;
  for (const auto& row : tx.exec_params(kList, or_null(filter.actor), or_null(filter.action),
                                        or_null(filter.since), or_null(filter.until),
                                        or_null(before), filter.limit)) {
    Entry entry;
    entry.seq = row[0].as<std::int64_t>();
    entry.at = row[1].as<std::string>();
    entry.actor = row[2].as<std::string>();
    entry.action = row[3].as<std::string>();
    entry.target = row[4].as<std::string>();
    entry.detail = nlohmann::json::parse(row[5].as<std::string>());
    out.push_back(std::move(entry));
  }
  return out;
}

std::optional<std::int64_t> first_broken_entry(pqxx::transaction_base& tx) {
  auto rows = tx.exec(kVerify);
  if (rows.empty()) return std::nullopt;
  return rows[0][0].as<std::int64_t>();
}

}  // namespace secretsd::admin_audit
