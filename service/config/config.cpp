#include "config/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <sstream>

#include <sodium.h>

#include "config/secret_strength.h"
#include "crypto/keyed_hash.h"

namespace secretsd {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;
constexpr std::int64_t kMaxArgon2Memlimit = std::int64_t{4096} * kMiB;
constexpr std::int64_t kMaxArgon2Opslimit = 64;

std::optional<std::int64_t> parse_int(const std::string& text) {
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

bool has_space_or_control(const std::string& text) {
  for (unsigned char c : text) {
    if (c <= 0x20 || c == 0x7F) return true;
  }
  return false;
}

// Collects errors instead of stopping at the first, so an operator fixes a
// broken .env in one pass. Messages name the variable, never its value.
class EnvReader {
 public:
  EnvReader(const GetenvFn& getenv_fn, std::vector<std::string>& errors)
      : getenv_fn_(getenv_fn), errors_(errors) {}

  std::optional<std::string> get(const std::string& name) const {
    auto value = getenv_fn_(name);
    if (!value || value->empty()) return std::nullopt;
    return value;
  }

  void error(const std::string& message) const { errors_.push_back(message); }

  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const {
    const auto text = get(name);
    if (!text) return fallback;
    const auto value = parse_int(*text);
    if (!value || *value < min || *value > max) {
      error(name + " must be an integer from " + std::to_string(min) + " to " +
            std::to_string(max));
      return fallback;
    }
    return *value;
  }

  bool flag(const std::string& name) const {
    const auto text = get(name);
    if (!text || *text == "0") return false;
    if (*text == "1") return true;
    error(name + " must be 0 or 1");
    return false;
  }

  // A single token such as an address or a JWT issuer: no spaces or controls.
  std::string word(const std::string& name, const std::string& fallback) const {
    const auto text = get(name);
    if (!text) return fallback;
    if (has_space_or_control(*text)) {
      error(name + " must not contain spaces or control characters");
      return fallback;
    }
    return *text;
  }

 private:
  const GetenvFn& getenv_fn_;
  std::vector<std::string>& errors_;
};

int as_int(std::int64_t value) { return static_cast<int>(value); }

void load_server(const EnvReader& env, Config& config) {
  config.database_url = env.get("DATABASE_URL").value_or("");
  config.web_dir = env.get("SECRETSD_WEB_DIR").value_or(config.web_dir);
  config.migrations_dir = env.get("SECRETSD_MIGRATIONS_DIR").value_or(config.migrations_dir);
  config.port = as_int(env.integer("PORT", config.port, 1, 65535));
  config.bind = env.word("BIND", config.bind);
  config.threads = as_int(env.integer("SECRETSD_THREADS", config.threads, 1, 256));
  config.pool_size = as_int(env.integer("SECRETSD_POOL_SIZE", config.pool_size, 1, 256));
  config.queue_limit = as_int(env.integer("SECRETSD_QUEUE_LIMIT", config.queue_limit, 1, 100000));
  config.max_body_bytes = static_cast<std::size_t>(env.integer(
      "SECRETSD_MAX_BODY_BYTES", static_cast<std::int64_t>(config.max_body_bytes), 1024,
      16 * static_cast<std::int64_t>(kMiB)));
  config.read_timeout_ms =
      as_int(env.integer("SECRETSD_READ_TIMEOUT_MS", config.read_timeout_ms, 100, 600000));
  config.write_timeout_ms =
      as_int(env.integer("SECRETSD_WRITE_TIMEOUT_MS", config.write_timeout_ms, 100, 600000));
  config.request_timeout_ms =
      as_int(env.integer("SECRETSD_REQUEST_TIMEOUT_MS", config.request_timeout_ms, 1000, 600000));
}

void load_stream(const EnvReader& env, Config& config) {
  config.stream_heartbeat_s =
      as_int(env.integer("SECRETSD_STREAM_HEARTBEAT_S", config.stream_heartbeat_s, 1, 3600));
  config.stream_max_per_caller =
      as_int(env.integer("SECRETSD_STREAM_MAX_PER_CALLER", config.stream_max_per_caller, 1, 100000));
  config.stream_max_total =
      as_int(env.integer("SECRETSD_STREAM_MAX_TOTAL", config.stream_max_total, 0, 1000000));
  config.stream_replay_max_events = as_int(
      env.integer("SECRETSD_STREAM_REPLAY_MAX_EVENTS", config.stream_replay_max_events, 0, 1000000));
  config.stream_replay_max_age_s = as_int(
      env.integer("SECRETSD_STREAM_REPLAY_MAX_AGE_S", config.stream_replay_max_age_s, 0, 2592000));
}

void load_fleet(const EnvReader& env, Config& config) {
  config.migration_database_url = env.get("SECRETSD_MIGRATION_DATABASE_URL").value_or("");
  config.shutdown_timeout_ms =
      as_int(env.integer("SECRETSD_SHUTDOWN_TIMEOUT_MS", config.shutdown_timeout_ms, 0, 600000));
  config.ready_write_probe_ms =
      as_int(env.integer("SECRETSD_READY_WRITE_PROBE_MS", config.ready_write_probe_ms, 0, 600000));
  config.read_database_url = env.get("SECRETSD_READ_DATABASE_URL").value_or("");
  config.read_your_writes_ms =
      as_int(env.integer("SECRETSD_READ_YOUR_WRITES_MS", config.read_your_writes_ms, 0, 600000));
  const auto token = env.get("SECRETSD_METRICS_TOKEN");
  if (!token) return;
  if (token->size() < 32) {
    env.error("SECRETSD_METRICS_TOKEN must be at least 32 characters");
    return;
  }
  config.metrics_token = *token;
}

void load_runtimes(const EnvReader& env, Config& config) {
  config.runtimes_file = env.get("SECRETSD_RUNTIMES_FILE").value_or("");
  if (const auto dirs = env.get("SECRETSD_RUNTIME_COMMAND_DIRS")) {
    std::stringstream in(*dirs);
    std::string dir;
    while (std::getline(in, dir, ':')) {
      if (dir.empty()) continue;
      // A relative entry would depend on secretsd's working directory.
      if (dir[0] != '/') {
        env.error("SECRETSD_RUNTIME_COMMAND_DIRS must list absolute directories");
        config.runtime_command_dirs.clear();
        break;
      }
      config.runtime_command_dirs.push_back(dir);
    }
  }
  config.restart_timeout_ms =
      as_int(env.integer("SECRETSD_RESTART_TIMEOUT_MS", config.restart_timeout_ms, 100, 600000));
  config.restart_parallelism =
      as_int(env.integer("SECRETSD_RESTART_PARALLELISM", config.restart_parallelism, 1, 64));
  config.settings_blob_max_bytes = static_cast<std::size_t>(env.integer(
      "SECRETSD_SETTINGS_BLOB_MAX_BYTES", static_cast<std::int64_t>(config.settings_blob_max_bytes),
      1, 16 * static_cast<std::int64_t>(kMiB)));
}

bool is_rate(const std::optional<std::int64_t>& value) {
  return value && *value >= 1 && *value <= 100000;
}

void load_login_rate_limit(const EnvReader& env, Config& config) {
  const auto text = env.get("SECRETSD_LOGIN_RATE_LIMIT");
  if (!text) return;
  const auto comma = text->find(',');
  const auto account = parse_int(text->substr(0, comma));
  auto address = account;
  if (comma != std::string::npos) {
    address = parse_int(text->substr(comma + 1));
  } else if (is_rate(account)) {
    // Keep the default 1:3 account:address ratio.
    address = std::min<std::int64_t>(*account * 3, 100000);
  }
  if (!is_rate(account) || !is_rate(address)) {
    env.error("SECRETSD_LOGIN_RATE_LIMIT must be N or N,M attempts per minute (1 to 100000): "
              "N per account, M per client address");
    return;
  }
  config.login_rate_per_account = as_int(*account);
  config.login_rate_per_address = as_int(*address);
}

void load_register_rate_limit(const EnvReader& env, Config& config) {
  config.register_rate_per_address = as_int(
      env.integer("SECRETSD_REGISTER_RATE_LIMIT", config.register_rate_per_address, 1, 100000));
}

void load_registration(const EnvReader& env, Config& config) {
  const auto text = env.get("SECRETSD_REGISTRATION");
  if (!text) return;
  if (*text == "invite") {
    config.registration = RegistrationMode::Invite;
  } else if (*text == "open") {
    config.registration = RegistrationMode::Open;
  } else if (*text == "closed") {
    config.registration = RegistrationMode::Closed;
  } else {
    env.error("SECRETSD_REGISTRATION must be invite, open or closed");
  }
}

void load_tokens(const EnvReader& env, Config& config) {
  if (const auto algorithm = env.get("AUTH_ALGORITHM"); algorithm && *algorithm != "HS256") {
    env.error("AUTH_ALGORITHM must be HS256 (the only algorithm secretsd signs or accepts)");
  }
  config.access_token_expire_minutes = as_int(
      env.integer("ACCESS_TOKEN_EXPIRE_MINUTES", config.access_token_expire_minutes, 1, 1440));
  config.refresh_token_expire_days =
      as_int(env.integer("REFRESH_TOKEN_EXPIRE_DAYS", config.refresh_token_expire_days, 1, 365));
  config.refresh_grace_seconds = as_int(
      env.integer("SECRETSD_REFRESH_GRACE_SECONDS", config.refresh_grace_seconds, 0, 300));
  config.jwt_issuer = env.word("SECRETSD_JWT_ISSUER", config.jwt_issuer);
  config.jwt_audience = env.word("SECRETSD_JWT_AUDIENCE", config.jwt_audience);
}

void load_argon2(const EnvReader& env, Config& config) {
  config.argon2_concurrency =
      as_int(env.integer("SECRETSD_ARGON2_CONCURRENCY", config.argon2_concurrency, 0, 256));
  const auto defaults = PasswordCost::production_default();
  config.argon2.opslimit = static_cast<std::uint64_t>(env.integer(
      "SECRETSD_ARGON2_OPSLIMIT", static_cast<std::int64_t>(defaults.opslimit),
      crypto_pwhash_argon2id_OPSLIMIT_MIN, kMaxArgon2Opslimit));
  config.argon2.memlimit = static_cast<std::size_t>(env.integer(
      "SECRETSD_ARGON2_MEMLIMIT", static_cast<std::int64_t>(defaults.memlimit),
      crypto_pwhash_argon2id_MEMLIMIT_MIN, kMaxArgon2Memlimit));
  config.allow_weak_argon2 = env.flag("SECRETSD_ALLOW_WEAK_ARGON2");
  if (!meets_owasp_minimum(config.argon2) && !config.dev_mode && !config.allow_weak_argon2) {
    env.error("SECRETSD_ARGON2_MEMLIMIT/OPSLIMIT are below the OWASP minimum (19 MiB, 2 passes); "
              "set SECRETSD_ALLOW_WEAK_ARGON2=1 or SECRETSD_DEV_MODE=1 to allow that");
  }
}

void load_auth_secret(const EnvReader& env, Config& config, std::vector<std::string>& warnings) {
  const auto key = env.get("AUTH_SECRET_KEY");
  if (!key) {
    if (!config.dev_mode) {
      env.error("AUTH_SECRET_KEY is required (generate one with `openssl rand -hex 32`)");
      return;
    }
    config.auth_secret_key = generate_token(32);
    config.auth_secret_key_ephemeral = true;
    warnings.push_back("AUTH_SECRET_KEY is not set: using a random key for this process only "
                       "(dev mode); tokens stop working when secretsd restarts");
    return;
  }
  config.auth_secret_key = *key;
  if (const auto weakness = secret_weakness(*key)) {
    const std::string message = "AUTH_SECRET_KEY " + *weakness;
    if (config.dev_mode) {
      warnings.push_back(message + " (allowed only because SECRETSD_DEV_MODE=1)");
    } else {
      env.error(message);
    }
  }
}

void load_admin_key(const EnvReader& env, Config& config, std::vector<std::string>& warnings) {
  const auto key = env.get("ADMIN_API_KEY");
  if (!key) return;  // admin endpoints stay disabled
  config.admin_api_key = *key;
  const auto weakness = secret_weakness(*key);
  if (!weakness) return;
  const std::string message = "ADMIN_API_KEY " + *weakness;
  if (config.dev_mode) {
    warnings.push_back(message + " (allowed only because SECRETSD_DEV_MODE=1)");
  } else {
    env.error(message);
  }
}

const char* presence(bool set) { return set ? "<set>" : "<unset>"; }

}  // namespace

ConfigResult load_config(const GetenvFn& getenv_fn) {
  ConfigResult result;
  Config config;
  const EnvReader env(getenv_fn, result.errors);
  config.dev_mode = env.flag("SECRETSD_DEV_MODE");
  load_server(env, config);
  load_fleet(env, config);
  load_stream(env, config);
  load_runtimes(env, config);
  load_tokens(env, config);
  load_login_rate_limit(env, config);
  load_register_rate_limit(env, config);
  load_registration(env, config);
  load_argon2(env, config);
  load_auth_secret(env, config, result.warnings);
  load_admin_key(env, config, result.warnings);
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

const char* registration_mode_name(RegistrationMode mode) {
  switch (mode) {
    case RegistrationMode::Open:
      return "open";
    case RegistrationMode::Closed:
      return "closed";
    case RegistrationMode::Invite:
      break;
  }
  return "invite";
}

GetenvFn process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string describe_config(const Config& config) {
  std::ostringstream out;
  out << "bind=" << config.bind << " port=" << config.port
      << " database_url=" << presence(!config.database_url.empty())
      << " auth_secret_key="
      << (config.auth_secret_key_ephemeral ? "<ephemeral>"
                                           : presence(!config.auth_secret_key.empty()))
      << " admin_api_key=" << presence(config.admin_api_key.has_value())
      << " dev_mode=" << config.dev_mode << " threads=" << config.threads
      << " pool_size=" << config.pool_size << " queue_limit=" << config.queue_limit
      << " max_body_bytes=" << config.max_body_bytes
      << " read_timeout_ms=" << config.read_timeout_ms
      << " write_timeout_ms=" << config.write_timeout_ms
      << " request_timeout_ms=" << config.request_timeout_ms
      << " access_token_expire_minutes=" << config.access_token_expire_minutes
      << " refresh_token_expire_days=" << config.refresh_token_expire_days
      << " refresh_grace_seconds=" << config.refresh_grace_seconds
      << " jwt_issuer=" << config.jwt_issuer << " jwt_audience=" << config.jwt_audience
      << " argon2_opslimit=" << config.argon2.opslimit
      << " argon2_memlimit=" << config.argon2.memlimit
      << " login_rate_per_account=" << config.login_rate_per_account
      << " login_rate_per_address=" << config.login_rate_per_address
      << " register_rate_per_address=" << config.register_rate_per_address
      << " registration=" << registration_mode_name(config.registration)
      << " argon2_concurrency=" << config.argon2_concurrency
      << " migration_database_url=" << presence(!config.migration_database_url.empty())
      << " metrics_token=" << presence(config.metrics_token.has_value())
      << " shutdown_timeout_ms=" << config.shutdown_timeout_ms
      << " ready_write_probe_ms=" << config.ready_write_probe_ms
      << " read_database_url=" << presence(!config.read_database_url.empty())
      << " read_your_writes_ms=" << config.read_your_writes_ms
      << " stream_heartbeat_s=" << config.stream_heartbeat_s
      << " stream_max_per_caller=" << config.stream_max_per_caller
      << " stream_max_total=" << config.stream_max_total
      << " stream_replay_max_events=" << config.stream_replay_max_events
      << " stream_replay_max_age_s=" << config.stream_replay_max_age_s;
  return out.str();
}

}  // namespace secretsd
