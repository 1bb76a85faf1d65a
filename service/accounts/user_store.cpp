#include "accounts/user_store.h"

#include "db/statement.h"

namespace secretsd::accounts::user_store {
namespace {

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

constexpr const char* kCreateOwner = R"(
WITH h AS (
  INSERT INTO secretsd.households (name) VALUES ($1) RETURNING id
), u AS (
  INSERT INTO secretsd.users (household_id, email, password_hash, role)
  SELECT h.id, $2, $3, 'owner' FROM h RETURNING id, household_id, role
), r AS (
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  SELECT gen_random_uuid(), u.id, $4, now() + make_interval(days => $5::int) FROM u RETURNING id
)
SELECT u.id, u.household_id, u.role FROM u, r)";

// The user's id is drawn first so the invite can record who used it in the
// same statement (foreign keys are checked at the end of the statement).
constexpr const char* kCreateInvited = R"(
WITH n AS MATERIALIZED (
  SELECT gen_random_uuid() AS id
), i AS (
  UPDATE secretsd.invites SET used_at = now(), used_by = (SELECT id FROM n)
   WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
  RETURNING household_id, role
), u AS (
  INSERT INTO secretsd.users (id, household_id, email, password_hash, role)
  SELECT n.id, i.household_id, $2, $3, i.role FROM n, i RETURNING id, household_id, role
), r AS (
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  SELECT gen_random_uuid(), u.id, $4, now() + make_interval(days => $5::int) FROM u RETURNING id
)
SELECT u.id, u.household_id, u.role FROM u, r)";

constexpr const char* kFindLogin = R"(
SELECT id, household_id, role, password_hash FROM secretsd.users
 WHERE lower(email) = lower($1) AND disabled_at IS NULL)";

constexpr const char* kStartSession = R"(
WITH p AS (
  UPDATE secretsd.users SET password_hash = $4 WHERE id = $1::uuid AND $4 <> '' RETURNING id
)
INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
VALUES (gen_random_uuid(), $1::uuid, $2, now() + make_interval(days => $3::int)))";

constexpr const char* kRotate =
    "SELECT outcome, user_id, household_id, role "
    "FROM secretsd.rotate_refresh_token($1, $2, $3::int, $4::int)";

// A function, not an UPDATE: it waits for a rotation in flight in the same
// family to commit, so the token that rotation issues is revoked too
// (migrations/0003_refresh_family_lock.sql).
constexpr const char* kRevokeFamily = "SELECT secretsd.revoke_refresh_family($1)";

constexpr const char* kFindUser =
    "SELECT id, email, household_id, role, " ISO_UTC("created_at") " FROM secretsd.users "
    "WHERE id = $1::uuid AND household_id = $2::uuid";

constexpr const char* kCreateInvite =
    "INSERT INTO secretsd.invites (code_hash, household_id, created_by, role, expires_at) "
    "VALUES ($1, $2::uuid, $3::uuid, $4, now() + make_interval(hours => $5::int)) "
    "RETURNING " ISO_UTC("expires_at");

Account account_from(const pqxx::row& row) {
  return Account{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()};
}

}  // namespace

Account create_owner(db::Lease& lease, const std::string& household_name, const std::string& email,
                     const std::string& password_hash, const std::string& refresh_hash,
                     int refresh_days) {
  auto r = db::exec_params(lease, kCreateOwner, household_name, email, password_hash, refresh_hash,
                           refresh_days);
  return account_from(r.at(0));
}

std::optional<Account> create_invited(db::Lease& lease, const std::string& invite_hash,
                                      const std::string& email, const std::string& password_hash,
                                      const std::string& refresh_hash, int refresh_days) {
  auto r = db::exec_params(lease, kCreateInvited, invite_hash, email, password_hash, refresh_hash,
                           refresh_days);
  if (r.empty()) return std::nullopt;
  return account_from(r[0]);
}

std::optional<LoginRecord> find_login(db::Lease& lease, const std::string& email) {
  auto r = db::exec_params(lease, kFindLogin, email);
  if (r.empty()) return std::nullopt;
  return LoginRecord{account_from(r[0]), r[0][3].as<std::string>()};
}

void start_session(db::Lease& lease, const std::string& user_id, const std::string& refresh_hash,
                   int refresh_days, const std::string& new_password_hash) {
  db::exec_params(lease, kStartSession, user_id, refresh_hash, refresh_days, new_password_hash);
}

Rotation rotate_refresh(db::Lease& lease, const std::string& presented_hash,
                        const std::string& new_hash, int refresh_days, int grace_seconds) {
  auto r = db::exec_params(lease, kRotate, presented_hash, new_hash, refresh_days, grace_seconds);
  Rotation rotation;
  if (r.empty()) return rotation;
  auto outcome = r[0][0].as<std::string>();
  if (outcome == "rotated") {
    rotation.outcome = RotationOutcome::Rotated;
  } else if (outcome == "grace") {
    rotation.outcome = RotationOutcome::Grace;
  } else if (outcome == "reused") {
    rotation.outcome = RotationOutcome::Reused;
    return rotation;
  } else {
    return rotation;
  }
  rotation.account = Account{r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                             r[0][3].as<std::string>()};
  return rotation;
}

void revoke_family(db::Lease& lease, const std::string& token_hash) {
  db::exec_params(lease, kRevokeFamily, token_hash);
}

std::optional<UserProfile> find_user(db::Lease& lease, const std::string& user_id,
                                     const std::string& household_id) {
  auto r = db::exec_params(lease, kFindUser, user_id, household_id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  return UserProfile{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>(), row[4].as<std::string>()};
}

std::string create_invite(db::Lease& lease, const std::string& code_hash,
                          const std::string& household_id, const std::string& created_by,
                          const std::string& role, int valid_hours) {
  auto r = db::exec_params(lease, kCreateInvite, code_hash, household_id, created_by, role,
                           valid_hours);
  return r.at(0)[0].as<std::string>();
}

}  // namespace secretsd::accounts::user_store
