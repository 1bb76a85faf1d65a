#include "accounts/user_store.h"

#include "db/statement.h"

namespace secretsd::accounts::user_store {
namespace {

#define ISO_UTC(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

// The role in the user's default household (NULL: no longer a member).
#define DEFAULT_ROLE(user_col)                                                       \
  "(SELECT m.role FROM secretsd.memberships m JOIN secretsd.users d"                \
  " ON d.id = m.user_id AND d.household_id = m.household_id WHERE m.user_id = " user_col ")"

// Every statement that signs someone in starts a session and its first
// refresh token in the same statement (foreign keys are checked at its end).
constexpr const char* kCreateOwner = R"(
WITH h AS (
  INSERT INTO secretsd.households (name) VALUES ($1) RETURNING id
), u AS (
  INSERT INTO secretsd.users (household_id, email, password_hash)
  SELECT h.id, $2, $3 FROM h RETURNING id, household_id
), m AS (
  INSERT INTO secretsd.memberships (user_id, household_id, role)
  SELECT u.id, u.household_id, 'owner' FROM u RETURNING role
), s AS (
  INSERT INTO secretsd.sessions (id, user_id, address, user_agent)
  SELECT gen_random_uuid(), u.id, NULLIF($6, ''), NULLIF($7, '') FROM u RETURNING id
), r AS (
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  SELECT s.id, u.id, $4, now() + make_interval(days => $5::int) FROM u, s RETURNING id
)
SELECT u.id, u.household_id, s.id, m.role FROM u, m, s, r)";

// The user's id is drawn first so the invite can record who used it in the
// same statement.
constexpr const char* kCreateInvited = R"(
WITH n AS MATERIALIZED (
  SELECT gen_random_uuid() AS id
), i AS (
  UPDATE secretsd.invites SET used_at = now(), used_by = (SELECT id FROM n)
   WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()
  RETURNING household_id, role
), u AS (
  INSERT INTO secretsd.users (id, household_id, email, password_hash)
  SELECT n.id, i.household_id, $2, $3 FROM n, i RETURNING id, household_id
), m AS (
  INSERT INTO secretsd.memberships (user_id, household_id, role)
  SELECT u.id, u.household_id, i.role FROM u, i RETURNING role
), s AS (
  INSERT INTO secretsd.sessions (id, user_id, address, user_agent)
  SELECT gen_random_uuid(), u.id, NULLIF($6, ''), NULLIF($7, '') FROM u RETURNING id
), r AS (
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  SELECT s.id, u.id, $4, now() + make_interval(days => $5::int) FROM u, s RETURNING id
)
SELECT u.id, u.household_id, s.id, m.role FROM u, m, s, r)";

constexpr const char* kFindLogin = R"(
SELECT id, password_hash FROM secretsd.users
 WHERE lower(email) = lower($1) AND disabled_at IS NULL)";

constexpr const char* kPasswordHashOf =
    "SELECT password_hash FROM secretsd.users WHERE id = $1::uuid AND disabled_at IS NULL";

constexpr const char* kStartSession = R"(
WITH p AS (
  UPDATE secretsd.users SET password_hash = $4 WHERE id = $1::uuid AND $4 <> '' RETURNING id
), s AS (
  INSERT INTO secretsd.sessions (id, user_id, address, user_agent)
  VALUES (gen_random_uuid(), $1::uuid, NULLIF($5, ''), NULLIF($6, '')) RETURNING id
), r AS (
  INSERT INTO secretsd.refresh_tokens (family_id, user_id, token_hash, expires_at)
  SELECT s.id, $1::uuid, $2, now() + make_interval(days => $3::int) FROM s RETURNING family_id
)
SELECT u.id, u.household_id, r.family_id, )" DEFAULT_ROLE("u.id") R"(
  FROM r, secretsd.users u WHERE u.id = $1::uuid)";

constexpr const char* kRotate =
    "SELECT r.outcome, r.user_id, r.household_id, r.session_id, m.role "
    "FROM secretsd.rotate_refresh_token($1, $2, $3::int, $4::int) r "
    "LEFT JOIN secretsd.memberships m ON m.user_id = r.user_id AND m.household_id = r.household_id";

// Functions, not UPDATEs: they wait for a rotation in flight in the same
// family to commit, so the token that rotation issues is revoked too
// (migrations/0003_refresh_family_lock.sql, 0012).
constexpr const char* kEndSessionOfRefresh =
    "SELECT secretsd.end_session_of_refresh($1, 'logout')::text";

constexpr const char* kEndOwnSession =
    "SELECT secretsd.end_session(s.id, $3) FROM secretsd.sessions s "
    "WHERE s.id = $1::uuid AND s.user_id = $2::uuid";

// Live: not ended, and a refresh token that can still be used.
constexpr const char* kLiveSessions =
    "SELECT s.id, " ISO_UTC("s.created_at") ", " ISO_UTC("s.last_used_at") ", s.address, s.user_agent "
    "FROM secretsd.sessions s WHERE s.user_id = $1::uuid AND s.ended_at IS NULL "
    "AND EXISTS (SELECT FROM secretsd.refresh_tokens r WHERE r.family_id = s.id "
    "            AND r.revoked_at IS NULL AND r.expires_at > now()) "
    "ORDER BY s.created_at DESC, s.id";

constexpr const char* kReplacePassword =
    "SELECT $1::uuid::text, household_id, session_id, role, array_to_string(ended, ',') "
    "FROM secretsd.replace_password($1::uuid, $2, $3, $4, $5::int, NULLIF($6, ''), NULLIF($7, ''))";

constexpr const char* kFindSelf =
    "SELECT u.id, u.email, u.display_name, "
    "(SELECT m.role FROM secretsd.memberships m WHERE m.user_id = u.id "
    " AND m.household_id = NULLIF($2, '')::uuid), " ISO_UTC("u.created_at") " "
    "FROM secretsd.users u WHERE u.id = $1::uuid";

constexpr const char* kMembers =
    "SELECT user_id, email, display_name, role, " ISO_UTC("joined_at") " "
    "FROM secretsd.household_members($1::uuid, $2::uuid)";

constexpr const char* kChangeMemberRole =
    "SELECT secretsd.change_member_role($1::uuid, $2::uuid, $3::uuid, $4)";

constexpr const char* kRemoveMember =
    "SELECT s::text FROM secretsd.remove_member($1::uuid, $2::uuid, $3::uuid) s";

constexpr const char* kHouseholdsOf =
    "SELECT h.id, h.name, m.role FROM secretsd.memberships m "
    "JOIN secretsd.households h ON h.id = m.household_id "
    "WHERE m.user_id = $1::uuid ORDER BY m.created_at, h.id";

constexpr const char* kCreateInvite =
    "SELECT " ISO_UTC("e") " FROM secretsd.create_invite($3::uuid, $2::uuid, $1, $4, $5::int) e";

std::optional<std::string> optional_text(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return field.as<std::string>();
}

Account account_from(const pqxx::row& row) {
  return Account{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                 optional_text(row[3]).value_or("")};
}

std::vector<std::string> split_ids(const std::string& joined) {
  std::vector<std::string> ids;
  std::size_t start = 0;
  while (start < joined.size()) {
    const auto comma = joined.find(',', start);
    const auto end = comma == std::string::npos ? joined.size() : comma;
    if (end > start) ids.push_back(joined.substr(start, end - start));
    start = end + 1;
  }
  return ids;
}

}  // namespace

Account create_owner(db::Lease& lease, const std::string& household_name, const std::string& email,
                     const std::string& password_hash, const std::string& refresh_hash,
                     int refresh_days, const Origin& origin) {
  auto r = db::exec_params(lease, kCreateOwner, household_name, email, password_hash, refresh_hash,
                           refresh_days, origin.address, origin.user_agent);
  return account_from(r.at(0));
}

std::optional<Account> create_invited(db::Lease& lease, const std::string& invite_hash,
                                      const std::string& email, const std::string& password_hash,
                                      const std::string& refresh_hash, int refresh_days,
                                      const Origin& origin) {
  auto r = db::exec_params(lease, kCreateInvited, invite_hash, email, password_hash, refresh_hash,
                           refresh_days, origin.address, origin.user_agent);
  if (r.empty()) return std::nullopt;
  return account_from(r[0]);
}

std::optional<LoginRecord> find_login(db::Lease& lease, const std::string& email) {
  auto r = db::exec_params(lease, kFindLogin, email);
  if (r.empty()) return std::nullopt;
  return LoginRecord{r[0][0].as<std::string>(), r[0][1].as<std::string>()};
}

std::optional<std::string> password_hash_of(db::Lease& lease, const std::string& user_id) {
  auto r = db::exec_params(lease, kPasswordHashOf, user_id);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::string>();
}

Account start_session(db::Lease& lease, const std::string& user_id, const std::string& refresh_hash,
                      int refresh_days, const std::string& new_password_hash, const Origin& origin) {
  auto r = db::exec_params(lease, kStartSession, user_id, refresh_hash, refresh_days,
                           new_password_hash, origin.address, origin.user_agent);
  return account_from(r.at(0));
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
                             r[0][3].as<std::string>(), optional_text(r[0][4]).value_or("")};
  return rotation;
}

std::string end_session_of_refresh(db::Lease& lease, const std::string& token_hash) {
  auto r = db::exec_params(lease, kEndSessionOfRefresh, token_hash);
  return r.empty() ? std::string() : optional_text(r[0][0]).value_or("");
}

bool end_own_session(db::Lease& lease, const std::string& user_id, const std::string& session_id,
                     const std::string& reason) {
  return !db::exec_params(lease, kEndOwnSession, session_id, user_id, reason).empty();
}

std::vector<SessionView> live_sessions(db::Lease& lease, const std::string& user_id) {
  std::vector<SessionView> out;
  for (const auto& row : db::exec_params(lease, kLiveSessions, user_id)) {
    out.push_back(SessionView{row[0].as<std::string>(), row[1].as<std::string>(),
                              row[2].as<std::string>(), optional_text(row[3]),
                              optional_text(row[4])});
  }
  return out;
}

std::optional<PasswordChange> replace_password(db::Lease& lease, const std::string& user_id,
                                               const std::string& old_hash,
                                               const std::string& new_hash,
                                               const std::string& refresh_hash, int refresh_days,
                                               const Origin& origin) {
  auto r = db::exec_params(lease, kReplacePassword, user_id, old_hash, new_hash, refresh_hash,
                           refresh_days, origin.address, origin.user_agent);
  if (r.empty()) return std::nullopt;
  return PasswordChange{account_from(r[0]), split_ids(optional_text(r[0][4]).value_or(""))};
}

std::optional<UserProfile> find_self(db::Lease& lease, const std::string& user_id,
                                     const std::string& household_id) {
  auto r = db::exec_params(lease, kFindSelf, user_id, household_id);
  if (r.empty()) return std::nullopt;
  const auto& row = r[0];
  return UserProfile{row[0].as<std::string>(), row[1].as<std::string>(), optional_text(row[2]),
                     household_id, optional_text(row[3]), row[4].as<std::string>()};
}

std::vector<Member> members(db::Lease& lease, const std::string& actor,
                            const std::string& household_id) {
  std::vector<Member> out;
  for (const auto& row : db::exec_params(lease, kMembers, actor, household_id)) {
    out.push_back(Member{row[0].as<std::string>(), row[1].as<std::string>(), optional_text(row[2]),
                         row[3].as<std::string>(), row[4].as<std::string>()});
  }
  return out;
}

std::string change_member_role(db::Lease& lease, const std::string& actor,
                               const std::string& household_id, const std::string& member,
                               const std::string& role) {
  auto r = db::exec_params(lease, kChangeMemberRole, actor, household_id, member, role);
  return r.at(0)[0].as<std::string>();
}

std::vector<std::string> remove_member(db::Lease& lease, const std::string& actor,
                                       const std::string& household_id,
                                       const std::string& member) {
  std::vector<std::string> ended;
  for (const auto& row : db::exec_params(lease, kRemoveMember, actor, household_id, member)) {
    ended.push_back(row[0].as<std::string>());
  }
  return ended;
}

std::vector<HouseholdView> households_of(db::Lease& lease, const std::string& user_id) {
  std::vector<HouseholdView> out;
  for (const auto& row : db::exec_params(lease, kHouseholdsOf, user_id)) {
    out.push_back(HouseholdView{row[0].as<std::string>(), row[1].as<std::string>(),
                                row[2].as<std::string>()});
  }
  return out;
}

std::string create_invite(db::Lease& lease, const std::string& code_hash,
                          const std::string& household_id, const std::string& actor,
                          const std::string& role, int valid_hours) {
  auto r = db::exec_params(lease, kCreateInvite, code_hash, household_id, actor, role, valid_hours);
  return r.at(0)[0].as<std::string>();
}

bool any_account_exists(db::Lease& lease) {
  return db::exec_params(lease, "SELECT EXISTS (SELECT 1 FROM secretsd.users)")[0][0].as<bool>();
}

void mark_second_factor(db::Lease& lease, const std::string& session_id) {
  db::exec_params(lease,
                  "UPDATE secretsd.sessions SET second_factor = true "
                  "WHERE id = $1::uuid AND ended_at IS NULL",
                  session_id);
}

bool set_household_two_factor(db::Lease& lease, const std::string& actor,
                              const std::string& household_id, bool required) {
  auto r = db::exec_params(lease,
                           "SELECT secretsd.set_household_two_factor($1::uuid, $2::uuid, $3)",
                           actor, household_id, required);
  return r.at(0)[0].as<bool>();
}

}  // namespace secretsd::accounts::user_store
