// SQL for users, households, refresh tokens and invites (secretsd's own
// tables, migrations/0001_auth.sql). Each function is one round trip.
// Secrets' row-level security is not involved: these tables belong to
// secretsd, and every query names the household it may touch.
#pragma once

#include <optional>
#include <string>

#include <pqxx/connection>

#include "db/pool.h"

namespace secretsd::accounts::user_store {

struct Account {
  std::string user_id;
  std::string household_id;
  std::string role;  // owner | admin | member
};

// A new household with its owner and a first refresh token. Throws
// pqxx::unique_violation when the email is taken.
Account create_owner(db::Lease& lease, const std::string& household_name, const std::string& email,
                     const std::string& password_hash, const std::string& refresh_hash,
                     int refresh_days);

// Consumes a live invite and creates its user (role from the invite) with a
// first refresh token; nullopt when the invite is unknown, used or expired.
// Throws pqxx::unique_violation when the email is taken (the invite stays
// unused: the statement is atomic).
std::optional<Account> create_invited(db::Lease& lease, const std::string& invite_hash,
                                      const std::string& email, const std::string& password_hash,
                                      const std::string& refresh_hash, int refresh_days);

struct LoginRecord {
  Account account;
  std::string password_hash;
};

// Enabled user by email, case-insensitively.
std::optional<LoginRecord> find_login(db::Lease& lease, const std::string& email);

// Starts a refresh-token family; replaces the password hash too when
// `new_password_hash` is non-empty (cost upgrade at login).
void start_session(db::Lease& lease, const std::string& user_id, const std::string& refresh_hash,
                   int refresh_days, const std::string& new_password_hash);

enum class RotationOutcome { Rotated, Grace, Reused, Invalid };

struct Rotation {
  RotationOutcome outcome = RotationOutcome::Invalid;
  Account account;  // set for Rotated and Grace
};

// secretsd.rotate_refresh_token(): see the migration for the rules.
Rotation rotate_refresh(db::Lease& lease, const std::string& presented_hash,
                        const std::string& new_hash, int refresh_days, int grace_seconds);

// Revokes the family of the token with this hash, if any.
void revoke_family(db::Lease& lease, const std::string& token_hash);

struct UserProfile {
  std::string id;
  std::string email;
  std::string household_id;
  std::string role;
  std::string created_at;  // ISO 8601, UTC
};

// Only within `household_id`: another household's user is "not found".
std::optional<UserProfile> find_user(db::Lease& lease, const std::string& user_id,
                                     const std::string& household_id);

// Stores an invite; returns its expiry (ISO 8601, UTC).
std::string create_invite(db::Lease& lease, const std::string& code_hash,
                          const std::string& household_id, const std::string& created_by,
                          const std::string& role, int valid_hours);

}  // namespace secretsd::accounts::user_store
