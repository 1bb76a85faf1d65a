// The instance administrators' audit (secretsd.admin_audit, migration 0014):
// provider settings, apps, nodes, runtime restarts, instance admins, and
// every use of the break-glass ADMIN_API_KEY. Hash-chained in PostgreSQL;
// appended only through secretsd.record_admin_action().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction_base>

namespace secretsd::admin_audit {

// Appends one entry in `tx`: it commits or rolls back with what it records.
// `action` is dotted lower case ("app.create", "break_glass.use").
void record(pqxx::transaction_base& tx, const std::string& actor, std::string_view action,
            const std::string& target, const nlohmann::json& detail = nlohmann::json::object());

struct Entry {
  std::int64_t seq = 0;
  std::string at;  // RFC 3339, UTC
  std::string actor;
  std::string action;
  std::string target;
  nlohmann::json detail;
};

// Newest first. Unset fields do not filter; `since`/`until` are RFC 3339
// timestamps already validated by the caller; before_seq is the cursor.
struct Filter {
  std::optional<std::string> actor;
  std::optional<std::string> action;
  std::optional<std::string> since;
  std::optional<std::string> until;
  std::optional<std::int64_t> before_seq;
  int limit = 100;
};

std::vector<Entry> list(pqxx::transaction_base& tx, const Filter& filter);

// The first entry that breaks the chain, or nullopt when it is intact.
std::optional<std::int64_t> first_broken_entry(pqxx::transaction_base& tx);

}  // namespace secretsd::admin_audit
