#include "config/config.h"

#include <map>

#include <gtest/gtest.h>

#include "config/secret_strength.h"

namespace secretsd {
namespace {

// 64 hex characters, as `openssl rand -hex 32` prints.
const std::string kGoodSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const std::string kGoodAdminKey = "Zx8mQ2vR7tLk4pW9nB3cF6hJ1sD5gA0eYuIoPqRsTvW";

using Env = std::map<std::string, std::string>;

GetenvFn fake_env(Env values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

Env minimal_env() { return {{"AUTH_SECRET_KEY", kGoodSecret}}; }

ConfigResult load(const Env& values) { return load_config(fake_env(values)); }

// True if any error message mentions `needle`.
bool has_error(const ConfigResult& result, const std::string& needle) {
  for (const auto& error : result.errors) {
    if (error.find(needle) != std::string::npos) return true;
  }
  return false;
}

bool mentions(const ConfigResult& result, const std::string& text) {
  for (const auto& lines : {result.errors, result.warnings}) {
    for (const auto& line : lines) {
      if (line.find(text) != std::string::npos) return true;
    }
  }
  return false;
}

TEST(Config, DefaultsWithOnlyASecretKey) {
  const auto result = load(minimal_env());
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.errors.empty());
  EXPECT_TRUE(result.warnings.empty());
  const Config& c = *result.config;
  EXPECT_EQ(c.database_url, "");
  EXPECT_EQ(c.port, 7701);
  EXPECT_EQ(c.bind, "127.0.0.1");
  EXPECT_EQ(c.auth_secret_key, kGoodSecret);  // used as given, not hex-decoded
  EXPECT_FALSE(c.auth_secret_key_ephemeral);
  EXPECT_EQ(c.auth_algorithm, "HS256");
  EXPECT_EQ(c.access_token_expire_minutes, 15);
  EXPECT_EQ(c.refresh_token_expire_days, 30);
  EXPECT_FALSE(c.admin_api_key.has_value());
  EXPECT_FALSE(c.dev_mode);
  EXPECT_EQ(c.threads, 64);
  EXPECT_EQ(c.pool_size, 8);
  EXPECT_EQ(c.queue_limit, 64);
  EXPECT_EQ(c.max_body_bytes, 65536u);
  EXPECT_EQ(c.read_timeout_ms, 5000);
  EXPECT_EQ(c.write_timeout_ms, 5000);
  EXPECT_EQ(c.argon2.opslimit, PasswordCost::production_default().opslimit);
  EXPECT_EQ(c.argon2.memlimit, PasswordCost::production_default().memlimit);
  EXPECT_EQ(c.jwt_issuer, "secretsd");
  EXPECT_EQ(c.jwt_audience, "pgsecrets");
  EXPECT_EQ(c.login_rate_per_account, 10);
  EXPECT_EQ(c.login_rate_per_address, 30);
  EXPECT_EQ(c.refresh_grace_seconds, 10);
}

TEST(Config, ReadsEveryVariable) {
  auto env = minimal_env();
  env.insert({{"DATABASE_URL", "postgresql://u:p@h/db"},
              {"PORT", "8800"},
              {"BIND", "0.0.0.0"},
              {"AUTH_ALGORITHM", "HS256"},
              {"ACCESS_TOKEN_EXPIRE_MINUTES", "5"},
              {"REFRESH_TOKEN_EXPIRE_DAYS", "7"},
              {"ADMIN_API_KEY", kGoodAdminKey},
              {"SECRETSD_THREADS", "4"},
              {"SECRETSD_POOL_SIZE", "6"},
              {"SECRETSD_QUEUE_LIMIT", "128"},
              {"SECRETSD_MAX_BODY_BYTES", "4096"},
              {"SECRETSD_READ_TIMEOUT_MS", "1000"},
              {"SECRETSD_WRITE_TIMEOUT_MS", "2000"},
              {"SECRETSD_ARGON2_OPSLIMIT", "4"},
              {"SECRETSD_ARGON2_MEMLIMIT", "33554432"},
              {"SECRETSD_JWT_ISSUER", "issuer-x"},
              {"SECRETSD_JWT_AUDIENCE", "aud-y"},
              {"SECRETSD_LOGIN_RATE_LIMIT", "5,20"},
              {"SECRETSD_REFRESH_GRACE_SECONDS", "0"}});
  const auto result = load(env);
  ASSERT_TRUE(result.ok()) << result.errors.size();
  const Config& c = *result.config;
  EXPECT_EQ(c.database_url, "postgresql://u:p@h/db");
  EXPECT_EQ(c.port, 8800);
  EXPECT_EQ(c.bind, "0.0.0.0");
  EXPECT_EQ(c.access_token_expire_minutes, 5);
  EXPECT_EQ(c.refresh_token_expire_days, 7);
  EXPECT_EQ(c.admin_api_key, kGoodAdminKey);
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.pool_size, 6);
  EXPECT_EQ(c.queue_limit, 128);
  EXPECT_EQ(c.max_body_bytes, 4096u);
  EXPECT_EQ(c.read_timeout_ms, 1000);
  EXPECT_EQ(c.write_timeout_ms, 2000);
  EXPECT_EQ(c.argon2.opslimit, 4u);
  EXPECT_EQ(c.argon2.memlimit, 33554432u);
  EXPECT_EQ(c.jwt_issuer, "issuer-x");
  EXPECT_EQ(c.jwt_audience, "aud-y");
  EXPECT_EQ(c.login_rate_per_account, 5);
  EXPECT_EQ(c.login_rate_per_address, 20);
  EXPECT_EQ(c.refresh_grace_seconds, 0);
}

TEST(Config, EmptyValuesCountAsUnset) {
  auto env = minimal_env();
  env["PORT"] = "";
  env["ADMIN_API_KEY"] = "";
  const auto result = load(env);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->port, 7701);
  EXPECT_FALSE(result.config->admin_api_key.has_value());
}

TEST(Config, SecretKeyRequiredOutsideDevMode) {
  const auto result = load({});
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, "AUTH_SECRET_KEY is required"));
}

TEST(Config, DevModeGeneratesEphemeralSecretKeyWithWarning) {
  const auto result = load({{"SECRETSD_DEV_MODE", "1"}});
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.config->dev_mode);
  EXPECT_TRUE(result.config->auth_secret_key_ephemeral);
  EXPECT_GE(result.config->auth_secret_key.size(), 32u);
  EXPECT_FALSE(secret_weakness(result.config->auth_secret_key).has_value());
  ASSERT_EQ(result.warnings.size(), 1u);
  EXPECT_NE(result.warnings[0].find("AUTH_SECRET_KEY"), std::string::npos);
  EXPECT_NE(load({{"SECRETSD_DEV_MODE", "1"}}).config->auth_secret_key,
            result.config->auth_secret_key);
}

TEST(Config, ShortSecretKeyRejected) {
  const auto result = load({{"AUTH_SECRET_KEY", "k3Y-ab12Q9zX"}});
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(has_error(result, "AUTH_SECRET_KEY is too short"));
}

TEST(Config, PlaceholderSecretKeysRejected) {
  const std::string placeholders[] = {
      "changeme",
      "secret",
      "your-secret-key",
      "CHANGE_ME",
      "change-me-change-me-change-me-change-me-please",
      "your-secret-key-goes-here-0123456789abcdef",
      "this-is-an-example-key-with-enough-length-1234",
      std::string(64, '0'),
      std::string(40, 'a'),
      "abcabcabcabcabcabcabcabcabcabcabcabcabc",
      "0101010101010101010101010101010101010101010101",
  };
  for (const auto& value : placeholders) {
    const auto result = load({{"AUTH_SECRET_KEY", value}});
    EXPECT_FALSE(result.ok()) << "case #" << (&value - placeholders);
  }
}

TEST(Config, WeakSecretKeyOnlyWarnsInDevMode) {
  const auto result = load({{"SECRETSD_DEV_MODE", "1"}, {"AUTH_SECRET_KEY", "changeme"}});
  ASSERT_TRUE(result.ok());
  EXPECT_FALSE(result.config->auth_secret_key_ephemeral);
  EXPECT_TRUE(mentions(result, "AUTH_SECRET_KEY looks like a placeholder"));
}

TEST(Config, HexSecretKeyCountsAsDecodedBytes) {
  EXPECT_EQ(secret_strength_bytes(kGoodSecret), 32u);
  EXPECT_EQ(secret_strength_bytes("not hex"), 7u);
  EXPECT_FALSE(secret_weakness(kGoodSecret).has_value());
  EXPECT_TRUE(load(minimal_env()).ok());
}

TEST(Config, MessagesNeverEchoSecretValues) {
  const std::string weak_secret = "hunter2hunter2";
  const std::string weak_admin = "short-admin-Q7";
  const std::string db_url = "postgresql://user:pa55word@host/db";
  const auto result = load({{"AUTH_SECRET_KEY", weak_secret},
                            {"ADMIN_API_KEY", weak_admin},
                            {"DATABASE_URL", db_url},
                            {"PORT", "not-a-port-pa55word"}});
  EXPECT_FALSE(result.ok());
  EXPECT_GE(result.errors.size(), 3u);
  for (const auto& text :
       {weak_secret, weak_admin, std::string("pa55word"), std::string("hunter2")}) {
    EXPECT_FALSE(mentions(result, text));
  }
}

TEST(Config, AdminKeyRules) {
  auto env = minimal_env();
  env["ADMIN_API_KEY"] = "short-admin-key";
  EXPECT_TRUE(has_error(load(env), "ADMIN_API_KEY is too short"));
  env["ADMIN_API_KEY"] = "changeme-admin-token-0123456789abcdef";
  EXPECT_TRUE(has_error(load(env), "ADMIN_API_KEY looks like a placeholder"));
  env["ADMIN_API_KEY"] = std::string(48, 'x');
  EXPECT_TRUE(has_error(load(env), "ADMIN_API_KEY is too repetitive"));
  env["ADMIN_API_KEY"] = kGoodAdminKey;
  EXPECT_TRUE(load(env).ok());
}

TEST(Config, OnlyHs256Accepted) {
  for (const char* algorithm : {"HS512", "none", "RS256", "hs256"}) {
    auto env = minimal_env();
    env["AUTH_ALGORITHM"] = algorithm;
    EXPECT_TRUE(has_error(load(env), "AUTH_ALGORITHM")) << algorithm;
  }
}

TEST(Config, NumbersMustParseFully) {
  for (const char* value : {"77o1", " 7701", "7701 ", "+7701", "7701.0", "0x1e15", "abc"}) {
    auto env = minimal_env();
    env["PORT"] = value;
    EXPECT_TRUE(has_error(load(env), "PORT must be an integer")) << value;
  }
}

TEST(Config, NumbersMustBeInRange) {
  const std::pair<const char*, const char*> cases[] = {
      {"PORT", "0"},
      {"PORT", "65536"},
      {"PORT", "-1"},
      {"ACCESS_TOKEN_EXPIRE_MINUTES", "0"},
      {"ACCESS_TOKEN_EXPIRE_MINUTES", "1441"},
      {"REFRESH_TOKEN_EXPIRE_DAYS", "366"},
      {"SECRETSD_THREADS", "0"},
      {"SECRETSD_POOL_SIZE", "1000"},
      {"SECRETSD_QUEUE_LIMIT", "0"},
      {"SECRETSD_MAX_BODY_BYTES", "10"},
      {"SECRETSD_READ_TIMEOUT_MS", "99999999"},
      {"SECRETSD_WRITE_TIMEOUT_MS", "0"},
      {"SECRETSD_REFRESH_GRACE_SECONDS", "301"},
      {"SECRETSD_ARGON2_OPSLIMIT", "0"},
      {"SECRETSD_ARGON2_MEMLIMIT", "1024"},
      {"SECRETSD_THREADS", "99999999999999999999999"},
  };
  for (const auto& [name, value] : cases) {
    auto env = minimal_env();
    env[name] = value;
    EXPECT_TRUE(has_error(load(env), name)) << name << "=" << value;
  }
}

// Runtimes (runtimes/module.h) and the settings relay (relay/module.h):
// the expectations of the former settings options test, now refused here,
// before the migrations run.
TEST(Config, RuntimesAndRelayVariables) {
  auto result = load(minimal_env());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->runtimes_file, "");
  EXPECT_EQ(result.config->restart_timeout_ms, 10000);
  EXPECT_EQ(result.config->restart_parallelism, 4);
  EXPECT_TRUE(result.config->runtime_command_dirs.empty());
  EXPECT_EQ(result.config->settings_blob_max_bytes, 65536u);

  auto env = minimal_env();
  env["SECRETSD_RUNTIMES_FILE"] = "/etc/secretsd/runtimes.json";
  env["SECRETSD_RUNTIME_COMMAND_DIRS"] = "/opt/a::/opt/b";
  env["SECRETSD_RESTART_TIMEOUT_MS"] = "2500";
  env["SECRETSD_RESTART_PARALLELISM"] = "8";
  env["SECRETSD_SETTINGS_BLOB_MAX_BYTES"] = "1024";
  result = load(env);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->runtimes_file, "/etc/secretsd/runtimes.json");
  EXPECT_EQ(result.config->runtime_command_dirs, (std::vector<std::string>{"/opt/a", "/opt/b"}));
  EXPECT_EQ(result.config->restart_timeout_ms, 2500);
  EXPECT_EQ(result.config->restart_parallelism, 8);
  EXPECT_EQ(result.config->settings_blob_max_bytes, 1024u);
}

TEST(Config, BadRuntimesVariablesAreRefused) {
  const std::pair<const char*, const char*> cases[] = {
      {"SECRETSD_RUNTIME_COMMAND_DIRS", "rel"},
      {"SECRETSD_RUNTIME_COMMAND_DIRS", "/opt/a:rel"},
      {"SECRETSD_RESTART_TIMEOUT_MS", "10s"},
      {"SECRETSD_RESTART_TIMEOUT_MS", "99"},
      {"SECRETSD_RESTART_PARALLELISM", "0"},
      {"SECRETSD_RESTART_PARALLELISM", "65"},
      {"SECRETSD_SETTINGS_BLOB_MAX_BYTES", "0"},
      {"SECRETSD_SETTINGS_BLOB_MAX_BYTES", "16777217"},
  };
  for (const auto& [name, value] : cases) {
    auto env = minimal_env();
    env[name] = value;
    const auto result = load(env);
    EXPECT_FALSE(result.ok()) << name << "=" << value;
    EXPECT_TRUE(has_error(result, name)) << name << "=" << value;
  }
  auto env = minimal_env();
  env["SECRETSD_RESTART_PARALLELISM"] = "0";
  EXPECT_TRUE(has_error(load(env), "SECRETSD_RESTART_PARALLELISM must be an integer from 1 to 64"));
  env = minimal_env();
  env["SECRETSD_RUNTIME_COMMAND_DIRS"] = "rel";
  EXPECT_TRUE(has_error(load(env), "SECRETSD_RUNTIME_COMMAND_DIRS must list absolute directories"));
}

TEST(Config, FlagsAreZeroOrOne) {
  auto env = minimal_env();
  env["SECRETSD_DEV_MODE"] = "true";
  EXPECT_TRUE(has_error(load(env), "SECRETSD_DEV_MODE must be 0 or 1"));
  env["SECRETSD_DEV_MODE"] = "0";
  EXPECT_TRUE(load(env).ok());
}

TEST(Config, WeakArgon2NeedsExplicitPermission) {
  auto env = minimal_env();
  env["SECRETSD_ARGON2_OPSLIMIT"] = "1";
  env["SECRETSD_ARGON2_MEMLIMIT"] = "8388608";  // 8 MiB
  EXPECT_TRUE(has_error(load(env), "OWASP"));

  env["SECRETSD_ALLOW_WEAK_ARGON2"] = "1";
  const auto allowed = load(env);
  ASSERT_TRUE(allowed.ok());
  EXPECT_EQ(allowed.config->argon2.opslimit, 1u);
  EXPECT_EQ(allowed.config->argon2.memlimit, 8388608u);

  env.erase("SECRETSD_ALLOW_WEAK_ARGON2");
  env["SECRETSD_DEV_MODE"] = "1";
  EXPECT_TRUE(load(env).ok());
}

TEST(Config, Argon2AtOwaspMinimumAccepted) {
  auto env = minimal_env();
  env["SECRETSD_ARGON2_OPSLIMIT"] = "2";
  env["SECRETSD_ARGON2_MEMLIMIT"] = std::to_string(19 * 1024 * 1024);
  EXPECT_TRUE(load(env).ok());
  env["SECRETSD_ARGON2_MEMLIMIT"] = std::to_string(19 * 1024 * 1024 - 1);
  EXPECT_FALSE(load(env).ok());
}

TEST(Config, LoginRateLimitFormats) {
  auto env = minimal_env();
  env["SECRETSD_LOGIN_RATE_LIMIT"] = "7";
  auto result = load(env);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->login_rate_per_account, 7);
  EXPECT_EQ(result.config->login_rate_per_address, 21);
  for (const char* bad : {"0", "5,", ",5", "5,0", "a,b", "5;6", "5,6,7"}) {
    env["SECRETSD_LOGIN_RATE_LIMIT"] = bad;
    EXPECT_TRUE(has_error(load(env), "SECRETSD_LOGIN_RATE_LIMIT")) << bad;
  }
}

TEST(Config, RegistrationLimitAndHashingConcurrency) {
  auto env = minimal_env();
  auto defaults = load(env);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults.config->register_rate_per_address, 20);
  EXPECT_EQ(defaults.config->argon2_concurrency, 0);  // = number of cores
  EXPECT_EQ(defaults.config->request_timeout_ms, 15000);
  env["SECRETSD_REGISTER_RATE_LIMIT"] = "5";
  env["SECRETSD_ARGON2_CONCURRENCY"] = "3";
  env["SECRETSD_REQUEST_TIMEOUT_MS"] = "2000";
  auto set = load(env);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set.config->register_rate_per_address, 5);
  EXPECT_EQ(set.config->argon2_concurrency, 3);
  EXPECT_EQ(set.config->request_timeout_ms, 2000);
  for (const char* bad : {"0", "-1", "x", "100001"}) {
    env["SECRETSD_REGISTER_RATE_LIMIT"] = bad;
    EXPECT_TRUE(has_error(load(env), "SECRETSD_REGISTER_RATE_LIMIT")) << bad;
  }
  env["SECRETSD_REGISTER_RATE_LIMIT"] = "5";
  env["SECRETSD_ARGON2_CONCURRENCY"] = "257";
  EXPECT_TRUE(has_error(load(env), "SECRETSD_ARGON2_CONCURRENCY"));
  env["SECRETSD_ARGON2_CONCURRENCY"] = "3";
  env["SECRETSD_REQUEST_TIMEOUT_MS"] = "999";
  EXPECT_TRUE(has_error(load(env), "SECRETSD_REQUEST_TIMEOUT_MS"));
}

TEST(Config, WordsRejectSpaces) {
  auto env = minimal_env();
  env["SECRETSD_JWT_ISSUER"] = "my issuer";
  env["BIND"] = "127.0.0.1\n";
  const auto result = load(env);
  EXPECT_TRUE(has_error(result, "SECRETSD_JWT_ISSUER"));
  EXPECT_TRUE(has_error(result, "BIND"));
}

TEST(Config, ReportsAllErrorsAtOnce) {
  const auto result = load({{"PORT", "x"}, {"SECRETSD_THREADS", "0"}, {"AUTH_ALGORITHM", "HS512"}});
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors.size(), 4u);  // the three above + missing AUTH_SECRET_KEY
}

TEST(Config, DescribeShowsPresenceNotSecrets) {
  auto env = minimal_env();
  env["ADMIN_API_KEY"] = kGoodAdminKey;
  env["DATABASE_URL"] = "postgresql://user:pa55word@host/db";
  const auto result = load(env);
  ASSERT_TRUE(result.ok());
  const auto text = describe_config(*result.config);
  EXPECT_EQ(text.find(kGoodSecret), std::string::npos);
  EXPECT_EQ(text.find(kGoodAdminKey), std::string::npos);
  EXPECT_EQ(text.find("pa55word"), std::string::npos);
  EXPECT_NE(text.find("auth_secret_key=<set>"), std::string::npos);
  EXPECT_NE(text.find("port=7701"), std::string::npos);
}

TEST(Config, ProcessEnvironmentReadsRealVariables) {
  const auto getenv_fn = process_environment();
  EXPECT_FALSE(getenv_fn("SECRETSD_SURELY_UNSET_VARIABLE_FOR_TEST").has_value());
  EXPECT_TRUE(getenv_fn("PATH").has_value());
}

}  // namespace
}  // namespace secretsd
