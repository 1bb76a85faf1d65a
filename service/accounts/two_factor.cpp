#include "accounts/two_factor.h"

#include "accounts/account_events.h"
#include "accounts/qr_svg.h"
#include "accounts/recovery_codes.h"
#include "accounts/totp.h"
#include "crypto/keyed_hash.h"
#include "crypto/sealed_box.h"
#include "db/statement.h"
#include "identity/tokens.h"

namespace secretsd::accounts {
namespace {

// Its own derivation label: the sealing key is independent of the pepper
// and of the JWT key although all come from AUTH_SECRET_KEY.
constexpr const char* kSealPurpose = "totp-secret-seal";

// A pending enrolment is replaced; a confirmed one is left alone (no row
// returned).
constexpr const char* kBeginEnrolment = R"(
INSERT INTO secretsd.user_totp (user_id, secret_sealed) VALUES ($1::uuid, $2)
ON CONFLICT (user_id) DO UPDATE
   SET secret_sealed = EXCLUDED.secret_sealed, created_at = now(), last_step = NULL
 WHERE secretsd.user_totp.confirmed_at IS NULL
RETURNING user_id)";

// The row lock every change and every login check takes first.
constexpr const char* kLockTotp =
    "SELECT secret_sealed, confirmed_at IS NOT NULL, last_step FROM secretsd.user_totp "
    "WHERE user_id = $1::uuid FOR UPDATE";

constexpr const char* kConfirm =
    "UPDATE secretsd.user_totp SET confirmed_at = now(), last_step = $2 WHERE user_id = $1::uuid";
constexpr const char* kUseStep =
    "UPDATE secretsd.user_totp SET last_step = $2 WHERE user_id = $1::uuid";
constexpr const char* kDeleteRecoveryCodes =
    "DELETE FROM secretsd.recovery_codes WHERE user_id = $1::uuid";
constexpr const char* kInsertRecoveryCode =
    "INSERT INTO secretsd.recovery_codes (user_id, code_hash) VALUES ($1::uuid, $2)";
constexpr const char* kUnusedRecoveryCodes =
    "SELECT code_hash FROM secretsd.recovery_codes WHERE user_id = $1::uuid AND used_at IS NULL";
constexpr const char* kUseRecoveryCode =
    "UPDATE secretsd.recovery_codes SET used_at = now() "
    "WHERE user_id = $1::uuid AND code_hash = $2 AND used_at IS NULL";
constexpr const char* kDisable = "DELETE FROM secretsd.user_totp WHERE user_id = $1::uuid "
                                 "RETURNING confirmed_at IS NOT NULL";
constexpr const char* kIsEnabled =
    "SELECT EXISTS (SELECT 1 FROM secretsd.user_totp "
    "WHERE user_id = $1::uuid AND confirmed_at IS NOT NULL)";
constexpr const char* kRecoveryCodesLeft =
    "SELECT count(*) FROM secretsd.recovery_codes r JOIN secretsd.user_totp t USING (user_id) "
    "WHERE r.user_id = $1::uuid AND r.used_at IS NULL AND t.confirmed_at IS NOT NULL";

struct LockedTotp {
  std::string secret_sealed;
  bool confirmed = false;
  std::optional<std::int64_t> last_step;
};

std::optional<LockedTotp> lock_totp(pqxx::work& tx, const std::string& user_id) {
  const auto rows = tx.exec_params(kLockTotp, user_id);
  if (rows.empty()) return std::nullopt;
  const auto& row = rows[0];
  LockedTotp locked{row[0].as<std::string>(), row[1].as<bool>(), std::nullopt};
  if (!row[2].is_null()) locked.last_step = row[2].as<std::int64_t>();
  return locked;
}

// Authenticator apps show "123 456"; the code itself is the six digits.
std::string without_spaces(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c != ' ') out.push_back(c);
  }
  return out;
}

bool looks_like_totp_code(const std::string& code) {
  if (code.size() != totp::kDigits) return false;
  for (const char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

TwoFactor::TwoFactor(db::Databases& databases, std::string_view auth_secret_key, Clock clock)
    : databases_(databases),
      pepper_(identity::derive_credential_pepper(auth_secret_key)),
      seal_key_(derive_subkey(auth_secret_key, kSealPurpose)),
      clock_(std::move(clock)) {}

std::time_t TwoFactor::now() const { return clock_ ? clock_() : std::time(nullptr); }

// The user's id is the associated data: a sealed secret copied onto
// another user's row does not open there.
std::string TwoFactor::seal_secret(const std::string& user_id, std::string_view secret) const {
  return seal(seal_key_, secret, user_id);
}

std::optional<std::string> TwoFactor::open_secret(const std::string& user_id,
                                                  std::string_view sealed) const {
  return open_sealed(seal_key_, sealed, user_id);
}

std::optional<TwoFactorEnrolment> TwoFactor::begin_enrolment(const std::string& user_id,
                                                             const std::string& email) {
  const std::string secret = totp::new_secret();
  db::Lease lease = databases_.primary();
  const auto stored =
      db::exec_params(lease, kBeginEnrolment, user_id, seal_secret(user_id, secret));
  if (stored.empty()) return std::nullopt;
  TwoFactorEnrolment enrolment;
  enrolment.secret_base32 = totp::base32_encode(secret);
  enrolment.otpauth_uri = totp::otpauth_uri(secret, email);
  enrolment.qr_svg = qr_svg(enrolment.otpauth_uri);
  return enrolment;
}

std::optional<std::vector<std::string>> TwoFactor::confirm(const std::string& user_id,
                                                           std::string_view code,
                                                           const std::string& address) {
  const std::string digits = without_spaces(code);
  if (!looks_like_totp_code(digits)) return std::nullopt;
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) -> std::optional<std::vector<std::string>> {
    const auto locked = lock_totp(tx, user_id);
    if (!locked || locked->confirmed) return std::nullopt;
    const auto secret = open_secret(user_id, locked->secret_sealed);
    if (!secret) return std::nullopt;
    const auto step = totp::verify(*secret, digits, now());
    if (!step) return std::nullopt;
    tx.exec_params(kConfirm, user_id, *step);
    tx.exec_params(kDeleteRecoveryCodes, user_id);
    auto codes = recovery_codes::generate();
    for (const auto& c : codes) {
      tx.exec_params(kInsertRecoveryCode, user_id, recovery_codes::hash(pepper_, c));
    }
    account_events::record(tx, user_id, account_events::kTwoFactorEnabled, address);
    return codes;
  });
}

bool TwoFactor::disable(const std::string& user_id, const std::string& address) {
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    const auto removed = tx.exec_params(kDisable, user_id);
    tx.exec_params(kDeleteRecoveryCodes, user_id);
    const bool was_enabled = !removed.empty() && removed[0][0].as<bool>();
    if (was_enabled) account_events::record(tx, user_id, account_events::kTwoFactorDisabled, address);
    return was_enabled;
  });
}

bool TwoFactor::is_enabled(const std::string& user_id) {
  db::Lease lease = databases_.primary();
  return db::exec_params(lease, kIsEnabled, user_id)[0][0].as<bool>();
}

std::size_t TwoFactor::recovery_codes_left(const std::string& user_id) {
  db::Lease lease = databases_.primary();
  return db::exec_params(lease, kRecoveryCodesLeft, user_id)[0][0].as<std::size_t>();
}

bool TwoFactor::verify_login(const std::string& user_id, std::string_view code_or_recovery,
                             const std::string& address) {
  const std::string digits = without_spaces(code_or_recovery);
  const bool is_totp = looks_like_totp_code(digits);
  if (!is_totp && !recovery_codes::normalize(code_or_recovery)) return false;
  db::Lease lease = databases_.primary();
  return db::with_tx(lease, [&](pqxx::work& tx) {
    // Locked first on both paths: a concurrent check of the same user
    // waits here and then sees this one's last_step / used_at.
    const auto locked = lock_totp(tx, user_id);
    if (!locked || !locked->confirmed) return false;
    if (is_totp) {
      const auto secret = open_secret(user_id, locked->secret_sealed);
      if (!secret) return false;
      const auto step = totp::verify(*secret, digits, now());
      if (!step || (locked->last_step && *step <= *locked->last_step)) return false;
      tx.exec_params(kUseStep, user_id, *step);
      return true;
    }
    std::vector<std::string> hashes;
    for (const auto& row : tx.exec_params(kUnusedRecoveryCodes, user_id)) {
      hashes.push_back(row[0].as<std::string>());
    }
    const auto index = recovery_codes::find(pepper_, code_or_recovery, hashes);
    if (!index) return false;
    if (tx.exec_params(kUseRecoveryCode, user_id, hashes[*index]).affected_rows() != 1) return false;
    account_events::record(tx, user_id, account_events::kRecoveryCodeUsed, address,
                           {{"left", hashes.size() - 1}});
    return true;
  });
}

}  // namespace secretsd::accounts
