// SECRETSD_REGISTRATION (config.h RegistrationMode), parsed by load_config.
#include <map>

#include <gtest/gtest.h>

#include "config/config.h"

namespace secretsd {
namespace {

const std::string kGoodSecret = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

ConfigResult load_with(std::optional<std::string> registration) {
  std::map<std::string, std::string> env{{"AUTH_SECRET_KEY", kGoodSecret}};
  if (registration) env["SECRETSD_REGISTRATION"] = *registration;
  return load_config([env](const std::string& name) -> std::optional<std::string> {
    const auto it = env.find(name);
    if (it == env.end()) return std::nullopt;
    return it->second;
  });
}

TEST(RegistrationModeConfig, DefaultsToInvite) {
  const auto result = load_with(std::nullopt);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->registration, RegistrationMode::Invite);
  EXPECT_EQ(load_with("").config->registration, RegistrationMode::Invite);  // empty = unset
}

TEST(RegistrationModeConfig, ReadsEachMode) {
  EXPECT_EQ(load_with("invite").config->registration, RegistrationMode::Invite);
  EXPECT_EQ(load_with("open").config->registration, RegistrationMode::Open);
  EXPECT_EQ(load_with("closed").config->registration, RegistrationMode::Closed);
}

TEST(RegistrationModeConfig, OtherValuesAreRefusedWithTheUsualWording) {
  for (const std::string bad : {"Open", "OPEN", "invites", "on", "1", " open", "open "}) {
    const auto result = load_with(bad);
    EXPECT_FALSE(result.ok()) << bad;
    ASSERT_EQ(result.errors.size(), 1u) << bad;
    EXPECT_EQ(result.errors[0], "SECRETSD_REGISTRATION must be invite, open or closed");
  }
}

TEST(RegistrationModeConfig, NamesAndDescription) {
  EXPECT_STREQ(registration_mode_name(RegistrationMode::Invite), "invite");
  EXPECT_STREQ(registration_mode_name(RegistrationMode::Open), "open");
  EXPECT_STREQ(registration_mode_name(RegistrationMode::Closed), "closed");
  EXPECT_NE(describe_config(*load_with("open").config).find(" registration=open"),
            std::string::npos);
}

}  // namespace
}  // namespace secretsd
