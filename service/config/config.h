// secretsd's settings, read from environment variables through an injected
// accessor so tests never touch the real environment. Loading reports every
// problem at once and never repeats a variable's value in a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/password.h"

namespace secretsd {

// SECRETSD_REGISTRATION: who may create an account (README "Configuration").
//   invite: only with an invite code, except the instance's very first
//           account (its first owner) -- the default;
//   open:   anyone may register a new household (a taken email gets the
//           same answer as a new one; its owner is told, not the caller);
//   closed: nobody, invite or not.
enum class RegistrationMode { Invite, Open, Closed };
const char* registration_mode_name(RegistrationMode mode);  // "invite" | "open" | "closed"

// Returns a variable's value, or std::nullopt if unset. An empty value is
// treated as unset by load_config.
using GetenvFn = std::function<std::optional<std::string>(const std::string&)>;

struct Config {
  std::string database_url;  // DATABASE_URL; empty -> caller decides
  int port = 7701;           // PORT, 1..65535
  std::string bind = "127.0.0.1";  // BIND
  // AUTH_SECRET_KEY exactly as given (a 64-hex value is NOT decoded): it is
  // the HS256 key, byte-compatible with other verifiers sharing the variable.
  std::string auth_secret_key;
  bool auth_secret_key_ephemeral = false;  // dev mode generated it
  std::string auth_algorithm = "HS256";    // AUTH_ALGORITHM, only HS256
  int access_token_expire_minutes = 15;    // 1..1440
  int refresh_token_expire_days = 30;      // 1..365
  std::optional<std::string> admin_api_key;  // ADMIN_API_KEY; unset -> admin endpoints off
  bool dev_mode = false;                   // SECRETSD_DEV_MODE 0/1
  // A keep-alive connection holds a worker thread for its life (httplib is
  // thread-per-connection), so this bounds concurrent clients, not CPU use.
  int threads = 64;                        // SECRETSD_THREADS 1..256
  int pool_size = 8;                       // SECRETSD_POOL_SIZE 1..256
  int queue_limit = 64;                    // SECRETSD_QUEUE_LIMIT 1..100000
  std::size_t max_body_bytes = 65536;      // SECRETSD_MAX_BODY_BYTES 1024..16 MiB
  int read_timeout_ms = 5000;              // SECRETSD_READ_TIMEOUT_MS 100..600000
  int write_timeout_ms = 5000;             // SECRETSD_WRITE_TIMEOUT_MS 100..600000
  int request_timeout_ms = 15000;          // SECRETSD_REQUEST_TIMEOUT_MS 1000..600000
  // SECRETSD_ARGON2_OPSLIMIT / SECRETSD_ARGON2_MEMLIMIT (bytes).
  PasswordCost argon2 = PasswordCost::production_default();
  bool allow_weak_argon2 = false;          // SECRETSD_ALLOW_WEAK_ARGON2 0/1
  std::string jwt_issuer = "secretsd";     // SECRETSD_JWT_ISSUER
  std::string jwt_audience = "pgsecrets";  // SECRETSD_JWT_AUDIENCE
  // SECRETSD_LOGIN_RATE_LIMIT: "A" or "A,B" attempts per minute, A per
  // account and B per client address; "A" alone means B = 3 * A.
  int login_rate_per_account = 10;
  int login_rate_per_address = 30;
  // SECRETSD_REGISTER_RATE_LIMIT: registrations per hour per client address
  // (each costs an argon2 hash and may create a household).
  int register_rate_per_address = 20;
  // SECRETSD_REGISTRATION invite|open|closed (see RegistrationMode).
  RegistrationMode registration = RegistrationMode::Invite;
  // SECRETSD_ARGON2_CONCURRENCY 1..256: argon2 hashes running at once (each
  // takes SECRETSD_ARGON2_MEMLIMIT bytes); others wait. 0 = number of cores.
  int argon2_concurrency = 0;
  int refresh_grace_seconds = 10;          // SECRETSD_REFRESH_GRACE_SECONDS 0..300
  // SECRETSD_MIGRATION_DATABASE_URL: where migrations run; empty = DATABASE_URL.
  // Set it to the primary itself when DATABASE_URL names a pooler in
  // transaction mode (the migration lock is a session-level advisory lock).
  std::string migration_database_url;
  // SECRETSD_METRICS_TOKEN: GET /metrics is served only when set, to callers
  // that send it as "Authorization: Bearer <token>" (>= 32 characters).
  std::optional<std::string> metrics_token;
  // SECRETSD_SHUTDOWN_TIMEOUT_MS 0..600000: after SIGTERM, how long in-flight
  // requests may take to finish before secretsd exits anyway.
  int shutdown_timeout_ms = 10000;
  // SECRETSD_READY_WRITE_PROBE_MS 0..600000: /ready's real write (disk full,
  // read-only) runs at most this often per instance; 0 = on every call.
  int ready_write_probe_ms = 5000;
  // SECRETSD_READ_DATABASE_URL: a standby (or libpq multi-host list of them)
  // for GET of secrets, lists and versions; empty = every read on the primary.
  std::string read_database_url;
  // SECRETSD_READ_YOUR_WRITES_MS 0..600000: after a write, that caller's
  // reads go to the primary for this long (a bound on the standby's lag).
  int read_your_writes_ms = 5000;
  // The change stream (GET /api/secrets/events; events/change_hub.h).
  // SECRETSD_STREAM_HEARTBEAT_S 1..3600: a comment line this often.
  int stream_heartbeat_s = 15;
  // SECRETSD_STREAM_MAX_PER_CALLER 1..100000 (429 over it) and
  // SECRETSD_STREAM_MAX_TOTAL 0..1000000 (503 over it; 0 = streams off).
  int stream_max_per_caller = 20;
  int stream_max_total = 10000;
  // Resume (Last-Event-ID): at most SECRETSD_STREAM_REPLAY_MAX_EVENTS
  // 0..1000000 missed events, none older than SECRETSD_STREAM_REPLAY_MAX_AGE_S
  // 0..2592000; a larger or older gap gets "event: reset".
  int stream_replay_max_events = 10000;
  int stream_replay_max_age_s = 86400;
  // SECRETSD_WEB_DIR: the console's files (settings.html, static/); without
  // settings.html there the console is not served and the API is complete.
  std::string web_dir = "service/web";
  // SECRETSD_MIGRATIONS_DIR: secretsd's own numbered migrations.
  std::string migrations_dir = "migrations";
  // Provider settings' runtimes (runtimes/module.h) and the settings relay
  // (relay/module.h).
  // SECRETSD_RUNTIMES_FILE: JSON file of trusted runtimes and per-setting
  // probes/canary (runtimes/runtimes.h). Empty: none.
  std::string runtimes_file;
  // SECRETSD_RUNTIME_COMMAND_DIRS (colon-separated absolute directories):
  // where the executable of an API-registered command runtime must live.
  // Empty: API-registered command runtimes are refused.
  std::vector<std::string> runtime_command_dirs;
  // SECRETSD_RESTART_TIMEOUT_MS 100..600000: per runtime restart, per health
  // check, and per validation probe.
  int restart_timeout_ms = 10000;
  // SECRETSD_RESTART_PARALLELISM 1..64: runtimes restarted at once.
  int restart_parallelism = 4;
  // SECRETSD_SETTINGS_BLOB_MAX_BYTES 1..16 MiB: relay blobs above this are
  // refused with 413 (the server's body cap applies first).
  std::size_t settings_blob_max_bytes = 64 * 1024;
};

struct ConfigResult {
  std::optional<Config> config;        // set only when errors is empty
  std::vector<std::string> errors;     // human-readable, safe to print
  std::vector<std::string> warnings;   // e.g. ephemeral dev key; safe to print
  bool ok() const { return config.has_value(); }
};

// Rules beyond types and ranges:
// - AUTH_SECRET_KEY outside dev mode: required, >= 32 bytes (64 hex chars
//   count as 32), not a placeholder or repetitive (config/secret_strength.h).
//   In dev mode: missing -> random ephemeral key + warning; weak -> warning.
// - ADMIN_API_KEY if set: >= 32 characters, not a placeholder (dev mode: warning).
// - Argon2 cost below 19 MiB or 2 passes needs SECRETSD_DEV_MODE=1 or
//   SECRETSD_ALLOW_WEAK_ARGON2=1.
// Throws only if libsodium cannot initialise (dev-mode key generation).
ConfigResult load_config(const GetenvFn& getenv_fn);

// Reads the real process environment.
GetenvFn process_environment();

// One line for the startup log: every setting, secrets shown only as
// <set>/<unset>/<ephemeral>.
std::string describe_config(const Config& config);

}  // namespace secretsd
