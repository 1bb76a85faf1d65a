// secretsctl's argument parser and manifest reader.
#include "secretsctl/args.h"

#include <gtest/gtest.h>

#include "secretsctl/errors.h"
#include "secretsctl/manifest.h"

namespace secretsctl {
namespace {

const OptionSpec kSpec{"keys add", {"key-file", "database"}, {"activate"}};

int usage_code(const std::vector<std::string>& argv) {
  try {
    parse_args(argv, kSpec);
  } catch (const CliError& e) {
    return e.code();
  }
  return 0;
}

TEST(SecretsctlArgs, ParsesValuesFlagsAndPositionals) {
  const auto args = parse_args({"3", "--key-file", "/k", "--activate", "--database=postgres://x?a=b", "x"}, kSpec);
  EXPECT_EQ(args.positionals, (std::vector<std::string>{"3", "x"}));
  EXPECT_EQ(args.value("key-file"), "/k");
  EXPECT_EQ(args.value("database"), "postgres://x?a=b");
  EXPECT_TRUE(args.has("activate"));
  EXPECT_FALSE(args.has("help"));
  EXPECT_FALSE(args.value("missing").has_value());
}

TEST(SecretsctlArgs, HelpIsAlwaysAccepted) {
  EXPECT_TRUE(parse_args({"--help"}, kSpec).has("help"));
  EXPECT_TRUE(parse_args({"-h"}, kSpec).has("help"));
}

TEST(SecretsctlArgs, DoubleDashEndsOptions) {
  const auto args = parse_args({"--", "--activate", "-x"}, kSpec);
  EXPECT_EQ(args.positionals, (std::vector<std::string>{"--activate", "-x"}));
  EXPECT_FALSE(args.has("activate"));
}

TEST(SecretsctlArgs, UsageErrorsExitWith2) {
  EXPECT_EQ(usage_code({"--bogus"}), kExitUsage);
  EXPECT_EQ(usage_code({"-x"}), kExitUsage);
  EXPECT_EQ(usage_code({"--key-file"}), kExitUsage);
  EXPECT_EQ(usage_code({"--activate=yes"}), kExitUsage);
  try {
    parse_args({"--bogus"}, kSpec);
  } catch (const CliError& e) {
    EXPECT_NE(std::string(e.what()).find("keys add --help"), std::string::npos);
  }
}

TEST(SecretsctlArgs, ParseInt) {
  EXPECT_EQ(parse_int("100", "--batch", 1, 1000), 100);
  EXPECT_THROW(parse_int("0", "--batch", 1, 1000), CliError);
  EXPECT_THROW(parse_int("-1", "--batch", 1, 1000), CliError);
  EXPECT_THROW(parse_int("12x", "--batch", 1, 1000), CliError);
  EXPECT_THROW(parse_int("", "--batch", 1, 1000), CliError);
  EXPECT_THROW(parse_int("99999999999999999999", "--batch", 1, 1000), CliError);
}

TEST(SecretsctlArgs, Uuid) {
  EXPECT_TRUE(is_uuid("a6f1c2d3-0000-4000-8000-00000000000A"));
  EXPECT_FALSE(is_uuid("a6f1c2d3000040008000000000000000000a"));
  EXPECT_FALSE(is_uuid("g6f1c2d3-0000-4000-8000-00000000000a"));
  EXPECT_FALSE(is_uuid(""));
}

int manifest_error(const std::string& text, std::string* message = nullptr) {
  try {
    parse_manifest(text, "m.json");
  } catch (const CliError& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  return 0;
}

// Found by tests/fuzz/manifest_fuzzer.cc (corpus: number_overflow): nlohmann
// reports a too-large number as out_of_range, which escaped parse_manifest
// and ended secretsctl with exit 1 and the number quoted in the message.
TEST(SecretsctlManifest, NumberOutOfRangeIsBadInputWithoutQuotingIt) {
  std::string message;
  EXPECT_EQ(manifest_error(R"([{"key": "A", "required": 1e999}])", &message), kExitBadInput);
  EXPECT_NE(message.find("m.json: invalid JSON"), std::string::npos) << message;
  EXPECT_EQ(message.find("1e999"), std::string::npos) << message;
}

TEST(SecretsctlManifest, CommandObjectPrefersAllPossibleSecrets) {
  const auto file = parse_manifest(R"({"command": "get_weather",
      "required_secrets": [{"key": "A"}],
      "all_possible_secrets": [{"key": "A"}, {"key": "B", "scope": "node", "value_type": "int", "required": false}]})",
                                   "dir/weather.json");
  ASSERT_EQ(file.commands.size(), 1u);
  EXPECT_EQ(file.commands[0].name, "get_weather");
  ASSERT_EQ(file.commands[0].secrets.size(), 2u);
  EXPECT_EQ(file.commands[0].secrets[1].scope, "node");
  EXPECT_EQ(file.commands[0].secrets[1].value_type, "int");
  EXPECT_FALSE(file.commands[0].secrets[1].required);
  EXPECT_TRUE(file.commands[0].secrets[0].required);
}

TEST(SecretsctlManifest, DeclarationListIsNamedAfterTheFile) {
  const auto file = parse_manifest(R"([{"key": "A"}, {"key": "B"}])", "dir/stocks.json");
  ASSERT_EQ(file.commands.size(), 1u);
  EXPECT_EQ(file.commands[0].name, "stocks");
  EXPECT_EQ(file.commands[0].secrets.size(), 2u);
  EXPECT_TRUE(file.commands[0].manifest.is_array());
}

TEST(SecretsctlManifest, ListOfCommands) {
  const auto file = parse_manifest(R"([{"command": "a", "secrets": [{"key": "X"}]},
                                       {"name": "b", "required_secrets": []}])", "m.json");
  ASSERT_EQ(file.commands.size(), 2u);
  EXPECT_EQ(file.commands[0].name, "a");
  EXPECT_EQ(file.commands[1].name, "b");
  EXPECT_TRUE(file.commands[1].secrets.empty());
}

TEST(SecretsctlManifest, BadJsonNamesFileAndPositionButNotContent) {
  std::string message;
  EXPECT_EQ(manifest_error("{\n  \"key\": \"A\",\n  \"value\": \"TOPSECRET\" nope\n}", &message), kExitBadInput);
  EXPECT_NE(message.find("m.json"), std::string::npos);
  EXPECT_NE(message.find("line 3"), std::string::npos);
  EXPECT_EQ(message.find("TOPSECRET"), std::string::npos);
  EXPECT_EQ(message.find("nope"), std::string::npos);
}

TEST(SecretsctlManifest, ShapeErrorsAreBadInput) {
  EXPECT_EQ(manifest_error("42"), kExitBadInput);
  EXPECT_EQ(manifest_error("[1]"), kExitBadInput);
  EXPECT_EQ(manifest_error(R"([{"key": 5}])"), kExitBadInput);
  EXPECT_EQ(manifest_error(R"([{"key": "A", "required": "yes"}])"), kExitBadInput);
  EXPECT_EQ(manifest_error(R"({"command": "c", "secrets": {"key": "A"}})"), kExitBadInput);
  EXPECT_EQ(manifest_error(R"({"command": "c", "secrets": [{"nokey": 1}]})"), kExitBadInput);
}

}  // namespace
}  // namespace secretsctl
