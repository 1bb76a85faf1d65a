// Two-factor sign-in (TOTP, RFC 6238) of a person: enrolment, confirmation
// with a first code, ten single-use recovery codes, and the check at login.
// State lives in secretsd.user_totp and secretsd.recovery_codes
// (migrations/0013_two_factor.sql); every change runs in one transaction
// that locks the user's user_totp row first, so two requests with the same
// code (or recovery code) are serialised and only one of them succeeds.
//
// Wiring (routes are the caller's): enrol -> begin_enrolment (show the URI
// and the SVG once), confirm -> confirm (show the codes once), login ->
// after the password, if is_enabled (or the household requires it) ask
// for a code and call verify_login; disable -> after verify_login.
#pragma once

#include <cstddef>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/databases.h"

namespace secretsd::accounts {

struct TwoFactorEnrolment {
  std::string secret_base32;  // for typing in by hand
  std::string otpauth_uri;    // otpauth://totp/pgsecrets:<email>?secret=...
  std::string qr_svg;         // the URI as a QR code (image/svg+xml)
};

class TwoFactor {
 public:
  // Seconds since the epoch; tests pass a fixed clock.
  using Clock = std::function<std::time_t()>;

  // `auth_secret_key`: AUTH_SECRET_KEY as configured. It keys the recovery
  // code hashes (the credential pepper) and seals the TOTP secrets (a key
  // of its own derived from it): changing AUTH_SECRET_KEY makes every
  // enrolled authenticator and recovery code unusable (re-enrol).
  TwoFactor(db::Databases& databases, std::string_view auth_secret_key, Clock clock = {});

  // A new secret for `user_id` (its account's `email` labels it in the
  // app), replacing an unconfirmed one. nullopt when two-factor sign-in is
  // already on: replacing it needs disable() first, so a stolen session
  // cannot swap the authenticator silently.
  std::optional<TwoFactorEnrolment> begin_enrolment(const std::string& user_id,
                                                    const std::string& email);

  // Turns two-factor sign-in on when `code` is valid for the pending
  // enrolment: returns the 10 recovery codes (shown once; only their hashes
  // are kept). nullopt for a wrong code, or no pending enrolment.
  std::optional<std::vector<std::string>> confirm(const std::string& user_id, std::string_view code,
                                                  const std::string& address = "");

  // Turns it off and forgets the secret and the recovery codes. Returns
  // whether it was on. Ask for a code (verify_login) before calling this.
  bool disable(const std::string& user_id, const std::string& address = "");

  // Confirmed, i.e. login must ask for a second factor.
  bool is_enabled(const std::string& user_id);

  // The second factor at login: a 6-digit code of a step after the last one
  // accepted (replay refused), or an unused recovery code (then marked
  // used). False for everything else, including a user without two-factor
  // sign-in; the caller answers every failure the same way.
  bool verify_login(const std::string& user_id, std::string_view code_or_recovery,
                    const std::string& address = "");

  // Unused recovery codes of the user (0 when two-factor sign-in is off).
  std::size_t recovery_codes_left(const std::string& user_id);

 private:
  std::time_t now() const;
  std::string seal_secret(const std::string& user_id, std::string_view secret) const;
  std::optional<std::string> open_secret(const std::string& user_id, std::string_view sealed) const;

  db::Databases& databases_;
  std::string pepper_;    // identity::derive_credential_pepper(AUTH_SECRET_KEY)
  std::string seal_key_;  // derive_subkey(AUTH_SECRET_KEY, "totp-secret-seal")
  Clock clock_;
};

}  // namespace secretsd::accounts
