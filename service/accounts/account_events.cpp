#include "accounts/account_events.h"

#include "db/statement.h"

namespace secretsd::accounts::account_events {
namespace {

constexpr const char* kRecord =
    "INSERT INTO secretsd.account_events (user_id, kind, address, detail) "
    "VALUES ($1::uuid, $2, NULLIF($3, ''), $4::jsonb)";

// No row when the email is unknown: the same statement either way.
constexpr const char* kRecordRegistrationAttempt =
    "INSERT INTO secretsd.account_events (user_id, kind, address, detail) "
    "SELECT id, 'registration_attempt', NULLIF($2, ''), '{}'::jsonb FROM secretsd.users "
    "WHERE lower(email) = lower($1)";

constexpr const char* kRecent =
    "SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), kind, "
    "coalesce(address, ''), detail::text FROM secretsd.account_events "
    "WHERE user_id = $1::uuid ORDER BY at DESC, id DESC LIMIT $2::int";

}  // namespace

void record(pqxx::transaction_base& tx, const std::string& user_id, const std::string& kind,
            const std::string& address, const nlohmann::json& detail) {
  tx.exec_params(kRecord, user_id, kind, address, detail.dump());
}

void record_registration_attempt(db::Lease& lease, const std::string& email,
                                 const std::string& address) {
  db::exec_params(lease, kRecordRegistrationAttempt, email, address);
}

std::vector<AccountEvent> recent(db::Lease& lease, const std::string& user_id, int limit) {
  std::vector<AccountEvent> events;
  for (const auto& row : db::exec_params(lease, kRecent, user_id, limit)) {
    events.push_back(AccountEvent{row[0].as<std::int64_t>(), row[1].as<std::string>(),
                                  row[2].as<std::string>(), row[3].as<std::string>(),
                                  nlohmann::json::parse(row[4].as<std::string>())});
  }
  return events;
}

}  // namespace secretsd::accounts::account_events
