// SQL for users, households, memberships, sessions, refresh tokens and
// invites (secretsd's own tables, migrations/0001_auth.sql and
// 0012_people_and_roles.sql). Each function is one round trip. Secrets'
// row-level security is not involved: these tables belong to secretsd. The
// rules about members (who may list, change, remove and invite whom) are in
// 0012's functions, which lock the rows they judge and raise SQLSTATEs
// that api::from_sql_error maps (SD400, SD403, SD404, SD409).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/pool.h"

namespace secretsd::accounts::user_store {

// A signed-in person: the session just started (or rotated) and their
// default household with their role there (empty: no longer a member).
struct Account {
  std::string user_id;
  std::string household_id;
  std::string session_id;
  std::string role;
};

// Where a session was started from (shown in the person's session list).
struct Origin {
  std::string address;
  std::string user_agent;
};

// A new household with its owner, their first session and refresh token.
// Throws pqxx::unique_violation when the email is taken.
Account create_owner(db::Lease& lease, const std::string& household_name, const std::string& email,
                     const std::string& password_hash, const std::string& refresh_hash,
                     int refresh_days, const Origin& origin);

// Consumes a live invite and creates its user, member of the invite's
// household with the invite's role, with a first session; nullopt when the
// invite is unknown, used or expired. Throws pqxx::unique_violation when the
// email is taken (the invite stays unused: the statement is atomic).
std::optional<Account> create_invited(db::Lease& lease, const std::string& invite_hash,
                                      const std::string& email, const std::string& password_hash,
                                      const std::string& refresh_hash, int refresh_days,
                                      const Origin& origin);

// Whether any user exists (registration's "first owner" case).
bool any_account_exists(db::Lease& lease);

// Marks a live session as signed in with a second factor.
void mark_second_factor(db::Lease& lease, const std::string& session_id);

// secretsd.set_household_two_factor() (0015): as `actor` (an owner of it);
// returns the new value.
bool set_household_two_factor(db::Lease& lease, const std::string& actor,
                              const std::string& household_id, bool required);

struct LoginRecord {
  std::string user_id;
  std::string password_hash;
};

// Enabled user by email, case-insensitively.
std::optional<LoginRecord> find_login(db::Lease& lease, const std::string& email);

// An enabled user's password hash, by id.
std::optional<std::string> password_hash_of(db::Lease& lease, const std::string& user_id);

// Starts a session (a refresh-token family); replaces the password hash too
// when `new_password_hash` is non-empty (cost upgrade at login).
Account start_session(db::Lease& lease, const std::string& user_id, const std::string& refresh_hash,
                      int refresh_days, const std::string& new_password_hash, const Origin& origin);

enum class RotationOutcome { Rotated, Grace, Reused, Invalid };

struct Rotation {
  RotationOutcome outcome = RotationOutcome::Invalid;
  Account account;  // set for Rotated and Grace
};

// secretsd.rotate_refresh_token(): see the migrations for the rules.
Rotation rotate_refresh(db::Lease& lease, const std::string& presented_hash,
                        const std::string& new_hash, int refresh_days, int grace_seconds);

// Ends the session of the refresh token with this hash; its id, or empty
// when there is no such token.
std::string end_session_of_refresh(db::Lease& lease, const std::string& token_hash);

// Ends `session_id` when it is `user_id`'s; false when it is not theirs (or
// does not exist). Ending an ended session again is true.
bool end_own_session(db::Lease& lease, const std::string& user_id, const std::string& session_id,
                     const std::string& reason);

struct SessionView {
  std::string id;
  std::string created_at;    // ISO 8601, UTC
  std::string last_used_at;  // ISO 8601, UTC (to the minute)
  std::optional<std::string> address;
  std::optional<std::string> user_agent;
};

// The user's live sessions, newest first.
std::vector<SessionView> live_sessions(db::Lease& lease, const std::string& user_id);

struct PasswordChange {
  Account account;                 // with the new session
  std::vector<std::string> ended;  // every session it ended
};

// secretsd.replace_password(): nothing when the stored hash is no longer
// `old_hash`.
std::optional<PasswordChange> replace_password(db::Lease& lease, const std::string& user_id,
                                               const std::string& old_hash,
                                               const std::string& new_hash,
                                               const std::string& refresh_hash, int refresh_days,
                                               const Origin& origin);

struct UserProfile {
  std::string id;
  std::string email;
  std::optional<std::string> display_name;
  std::string household_id;  // the household asked about
  std::optional<std::string> role;  // their role there
  std::string created_at;    // ISO 8601, UTC
};

// The user themselves, with their role in `household_id` (may be empty).
std::optional<UserProfile> find_self(db::Lease& lease, const std::string& user_id,
                                     const std::string& household_id);

struct Member {
  std::string user_id;
  std::string email;
  std::optional<std::string> display_name;
  std::string role;
  std::string joined_at;  // ISO 8601, UTC
};

// secretsd.household_members(): as `actor` (an owner or admin of it).
std::vector<Member> members(db::Lease& lease, const std::string& actor,
                            const std::string& household_id);

// secretsd.change_member_role(); returns the new role.
std::string change_member_role(db::Lease& lease, const std::string& actor,
                               const std::string& household_id, const std::string& member,
                               const std::string& role);

// secretsd.remove_member(); returns the member's ended sessions.
std::vector<std::string> remove_member(db::Lease& lease, const std::string& actor,
                                       const std::string& household_id,
                                       const std::string& member);

struct HouseholdView {
  std::string id;
  std::string name;
  std::string role;
};

// The user's memberships, oldest first.
std::vector<HouseholdView> households_of(db::Lease& lease, const std::string& user_id);

// secretsd.create_invite(): stores an invite as `actor`; returns its expiry
// (ISO 8601, UTC).
std::string create_invite(db::Lease& lease, const std::string& code_hash,
                          const std::string& household_id, const std::string& actor,
                          const std::string& role, int valid_hours);

}  // namespace secretsd::accounts::user_store
