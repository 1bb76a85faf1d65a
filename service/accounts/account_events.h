// Events of an account that its owner should learn of, whoever caused them
// (secretsd.account_events, migrations/0013_two_factor.sql): for example a
// registration attempt with their email under open registration, which the
// caller must not learn of (the answer is the same as for a new email).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <pqxx/transaction_base>

#include "db/pool.h"

namespace secretsd::accounts::account_events {

// The kinds recorded so far (the column allows ^[a-z][a-z_]{0,63}$).
inline constexpr const char* kRegistrationAttempt = "registration_attempt";
inline constexpr const char* kTwoFactorEnabled = "two_factor_enabled";
inline constexpr const char* kTwoFactorDisabled = "two_factor_disabled";
inline constexpr const char* kRecoveryCodeUsed = "recovery_code_used";

// Inside a caller's transaction. `address` may be empty (stored as NULL);
// `detail` must hold no credential.
void record(pqxx::transaction_base& tx, const std::string& user_id, const std::string& kind,
            const std::string& address, const nlohmann::json& detail = nlohmann::json::object());

// One statement: a registration_attempt event for the account whose email
// is `email` (case-insensitively), and nothing when there is none. Returns
// nothing on purpose: the registration answer must not depend on it.
void record_registration_attempt(db::Lease& lease, const std::string& email,
                                 const std::string& address);

struct AccountEvent {
  std::int64_t id = 0;
  std::string at;  // ISO 8601, UTC
  std::string kind;
  std::string address;  // empty when unknown
  nlohmann::json detail;
};

// The newest `limit` events of a user, newest first.
std::vector<AccountEvent> recent(db::Lease& lease, const std::string& user_id, int limit);

}  // namespace secretsd::accounts::account_events
