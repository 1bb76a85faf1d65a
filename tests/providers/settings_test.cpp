// Provider settings' pieces that need no database: the masking of values
// and the validation probe. The runtimes' pieces: tests/runtimes/runtimes_test.cpp.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "providers/masking.h"
#include "providers/probe.h"

namespace secretsd::providers {
namespace {

using namespace std::chrono_literals;

const std::string kDots = "\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2\xE2\x80\xA2";
const std::string kEllipsis = "\xE2\x80\xA6";

TEST(SettingsMasking, ShortValuesAreFullyMasked) {
  EXPECT_EQ(mask_value(""), kDots);
  EXPECT_EQ(mask_value("abc"), kDots);
  EXPECT_EQ(mask_value("12345678901"), kDots);
}

TEST(SettingsMasking, MediumValuesShowOnlyTheLastFour) {
  EXPECT_EQ(mask_value("123456789012"), kEllipsis + "9012");
  EXPECT_EQ(mask_value("1234567890123456789"), kEllipsis + "6789");
}

TEST(SettingsMasking, LongValuesShowAShortPrefixAndTheLastFour) {
  EXPECT_EQ(mask_value("sk-proj-0123456789abcdefabcd"), "sk-" + kEllipsis + "abcd");
}

TEST(SettingsMasking, CountsCharactersNotBytes) {
  // 11 two-byte characters: still "short".
  std::string s;
  for (int i = 0; i < 11; ++i) s += "\xC3\xA9";
  EXPECT_EQ(mask_value(s), kDots);
  s += "\xC3\xA9";  // 12 characters: never cut inside one
  EXPECT_EQ(mask_value(s), kEllipsis + "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9");
}

TEST(SettingsProbe, ReadsTheCandidateOnStdinAndAcceptsOnExitZero) {
  EXPECT_TRUE(run_probe({"/bin/sh", "-c", "read -r v; [ \"$v\" = good ]"}, "x", "good", 5s).ok());
  EXPECT_FALSE(run_probe({"/bin/sh", "-c", "read -r v; [ \"$v\" = good ]"}, "x", "bad", 5s).ok());
  // A probe that never reads a large value still ends (no blocked write).
  EXPECT_TRUE(run_probe({"/bin/true"}, "x", std::string(1 << 20, 'v'), 5s).ok());
  EXPECT_TRUE(run_probe({"/bin/sh", "-c", "[ \"$PGSECRETS_SETTING_NAME\" = x ]"}, "x", "", 5s).ok());
}

}  // namespace
}  // namespace secretsd::providers
