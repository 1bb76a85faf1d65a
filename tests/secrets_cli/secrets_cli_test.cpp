// The `secrets` command's pure parts: configuration resolution (variables,
// flags overriding them, one kind of credentials), the refusal of plain http
// to a host that is not loopback, and typed values.
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "secrets_cli/config.h"
#include "secrets_cli/errors.h"
#include "secrets_cli/typed_value.h"

namespace secrets_client {
namespace {

using Vars = std::map<std::string, std::string>;

EnvLookup env_of(const Vars& vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

ClientConfig resolve(const Vars& vars, const Vars& flags = {}, bool insecure = false) {
  ConfigFlags f;
  f.values = flags;
  f.insecure = insecure;
  return resolve_config(env_of(vars), f);
}

// The usage error's message, "" when it resolves.
std::string refusal(const Vars& vars, const Vars& flags = {}, bool insecure = false) {
  try {
    resolve(vars, flags, insecure);
    return "";
  } catch (const ClientError& e) {
    EXPECT_EQ(e.code(), kExitUsage);
    return e.what();
  }
}

const Vars kNode = {{"SECRETS_URL", "https://secrets.example.org"}, {"SECRETS_API_KEY", "kitchen:nk-s3cr3t"}};

TEST(SecretsClientConfig, NodeFromTheEnvironment) {
  ClientConfig c = resolve(kNode);
  EXPECT_EQ(c.caller, Caller::kNode);
  EXPECT_EQ(c.node_id, "kitchen");
  EXPECT_EQ(c.api_key, "nk-s3cr3t");
  EXPECT_EQ(c.endpoint.scheme, "https");
  EXPECT_EQ(c.endpoint.host, "secrets.example.org");
  EXPECT_EQ(c.endpoint.port, 443);
  EXPECT_EQ(c.endpoint.base_path, "");
}

TEST(SecretsClientConfig, AppAndUserFromTheEnvironment) {
  ClientConfig app = resolve({{"SECRETS_URL", "http://127.0.0.1:7701/"},
                              {"SECRETS_APP_ID", "mobile"},
                              {"SECRETS_APP_KEY", "ak"},
                              {"SECRETS_HOUSEHOLD_ID", "h1"}});
  EXPECT_EQ(app.caller, Caller::kApp);
  EXPECT_EQ(app.app_id, "mobile");
  EXPECT_EQ(app.household_id, "h1");
  EXPECT_EQ(app.endpoint.port, 7701);
  ClientConfig user = resolve({{"SECRETS_URL", "https://h:8443/pgsecrets/"}, {"SECRETS_TOKEN", "jwt"}});
  EXPECT_EQ(user.caller, Caller::kUser);
  EXPECT_EQ(user.token, "jwt");
  EXPECT_EQ(user.endpoint.port, 8443);
  EXPECT_EQ(user.endpoint.base_path, "/pgsecrets");
}

TEST(SecretsClientConfig, FlagsOverrideTheirVariables) {
  ClientConfig c = resolve(kNode, {{"url", "https://other.example.org:9000"}, {"api-key", "office:k2"}});
  EXPECT_EQ(c.endpoint.host, "other.example.org");
  EXPECT_EQ(c.endpoint.port, 9000);
  EXPECT_EQ(c.node_id, "office");
  EXPECT_EQ(c.api_key, "k2");
  // A credential flag of another kind replaces the variables' credentials.
  ClientConfig u = resolve(kNode, {{"token", "jwt"}});
  EXPECT_EQ(u.caller, Caller::kUser);
  EXPECT_EQ(u.api_key, "");
  // The household is not a credential: its flag overrides only it.
  Vars app = {{"SECRETS_URL", "https://h"},
              {"SECRETS_APP_ID", "a"},
              {"SECRETS_APP_KEY", "k"},
              {"SECRETS_HOUSEHOLD_ID", "h1"}};
  EXPECT_EQ(resolve(app, {{"household-id", "h2"}}).household_id, "h2");
}

TEST(SecretsClientConfig, RefusesMissingMixedAndMalformedCredentialsWithoutEchoingThem) {
  EXPECT_NE(refusal({{"SECRETS_API_KEY", "n:k"}}).find("SECRETS_URL"), std::string::npos);
  EXPECT_NE(refusal({{"SECRETS_URL", "https://h"}}).find("no credentials"), std::string::npos);
  EXPECT_NE(refusal({{"SECRETS_URL", "https://h"}, {"SECRETS_API_KEY", "n:k"}, {"SECRETS_TOKEN", "t0k3n"}})
                .find("more than one"),
            std::string::npos);
  std::string m = refusal({{"SECRETS_URL", "https://h"}, {"SECRETS_API_KEY", "nocolonsecret"}});
  EXPECT_NE(m.find("node_id:api_key"), std::string::npos);
  EXPECT_EQ(m.find("nocolonsecret"), std::string::npos);
  EXPECT_NE(refusal({{"SECRETS_URL", "https://h"}, {"SECRETS_API_KEY", ":k"}}), "");
  EXPECT_NE(refusal({{"SECRETS_URL", "https://h"}, {"SECRETS_APP_ID", "a"}}).find("both"), std::string::npos);
  std::string u = refusal({{"SECRETS_URL", "https://me:pa55@h"}, {"SECRETS_TOKEN", "t"}});
  EXPECT_NE(u.find("credentials"), std::string::npos);
  EXPECT_EQ(u.find("pa55"), std::string::npos);
  EXPECT_NE(refusal({{"SECRETS_URL", "ftp://h"}, {"SECRETS_TOKEN", "t"}}), "");
  EXPECT_NE(refusal({{"SECRETS_URL", "https://h:99999"}, {"SECRETS_TOKEN", "t"}}), "");
}

TEST(SecretsClientConfig, PlainHttpOnlyToLoopbackUnlessInsecure) {
  const Vars remote = {{"SECRETS_URL", "http://secrets.example.org:7701"}, {"SECRETS_API_KEY", "n:k"}};
  EXPECT_NE(refusal(remote).find("refusing plain http://"), std::string::npos);
  EXPECT_NE(refusal({{"SECRETS_URL", "http://10.0.0.5"}, {"SECRETS_API_KEY", "n:k"}}), "");
  EXPECT_NE(refusal({{"SECRETS_URL", "http://[fe80::1]:7701"}, {"SECRETS_API_KEY", "n:k"}}), "");
  EXPECT_EQ(refusal(remote, {}, /*insecure=*/true), "");
  for (const char* url : {"http://127.0.0.1:7701", "http://127.8.9.10", "http://localhost:7701",
                          "http://LOCALHOST", "http://[::1]:7701"}) {
    EXPECT_EQ(refusal({{"SECRETS_URL", url}, {"SECRETS_API_KEY", "n:k"}}), "") << url;
  }
  EXPECT_EQ(resolve({{"SECRETS_URL", "http://[::1]:7701"}, {"SECRETS_API_KEY", "n:k"}}).endpoint.host, "::1");
  EXPECT_FALSE(is_loopback_host("127.example.org"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
}

TEST(SecretsClientTypedValue, IntIsASignAndDigitsIn32Bits) {
  EXPECT_EQ(parse_int32("8080"), 8080);
  EXPECT_EQ(parse_int32("+7"), 7);
  EXPECT_EQ(parse_int32("-2147483648"), INT32_MIN);
  EXPECT_EQ(parse_int32("2147483647"), INT32_MAX);
  EXPECT_EQ(parse_int32("000000000000000000042"), 42);
  for (const char* bad : {"", "-", "+", "2147483648", "-2147483649", "99999999999999999999", " 1", "1 ",
                          "0x10", "1.5", "1e3", "--1"}) {
    EXPECT_FALSE(parse_int32(bad).has_value()) << bad;
  }
  EXPECT_EQ(typed_text("+0042", "int"), "42");
}

TEST(SecretsClientTypedValue, IntEdgesNormaliseToCanonicalDecimal) {
  EXPECT_EQ(typed_text("-0", "int"), "0");
  EXPECT_EQ(typed_text("+0", "int"), "0");
  EXPECT_EQ(typed_text("-2147483648", "int"), "-2147483648");
  EXPECT_EQ(typed_text("-002147483648", "int"), "-2147483648");
  EXPECT_EQ(typed_text("+2147483647", "int"), "2147483647");
  EXPECT_FALSE(typed_text("+2147483648", "int").has_value());
  EXPECT_FALSE(typed_text(std::string("1\0", 2), "int").has_value()) << "an embedded NUL";
  EXPECT_FALSE(typed_text("\xD9\xA3", "int").has_value()) << "a non-ASCII digit";
  EXPECT_FALSE(typed_text("1\n", "int").has_value());
  EXPECT_FALSE(typed_text("+-1", "int").has_value());
}

TEST(SecretsClientTypedValue, BoolEdges) {
  EXPECT_EQ(typed_text("tRuE", "bool"), "true");
  EXPECT_EQ(typed_text("FALSE", "bool"), "false");
  for (const char* bad : {"0", "on", "truee", " false", "false\n", "\xC3\x9F"}) {
    EXPECT_FALSE(typed_text(bad, "bool").has_value()) << bad;
  }
  EXPECT_FALSE(typed_text(std::string("true\0", 5), "bool").has_value()) << "an embedded NUL";
  EXPECT_EQ(typed_text("", "string"), "");
}

TEST(SecretsClientTypedValue, BoolIsTrueOrFalseInAnyCasePrintedLowerCase) {
  EXPECT_EQ(typed_text("TRUE", "bool"), "true");
  EXPECT_EQ(typed_text("False", "bool"), "false");
  for (const char* bad : {"", "1", "yes", "true ", "t"}) EXPECT_FALSE(parse_bool(bad).has_value()) << bad;
  EXPECT_EQ(typed_text(" any thing ", "string"), " any thing ");
}

}  // namespace
}  // namespace secrets_client
