// Provider settings and runtimes pieces that need no database: masking,
// names, the runtime registration policy and the validation probe.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "providers/masking.h"
#include "providers/probe.h"
#include "runtimes/names.h"
#include "runtimes/runtimes.h"

namespace secretsd::runtimes {
namespace {

using providers::mask_value;
using providers::run_probe;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;

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

TEST(SettingsNames, EnvironmentNames) {
  EXPECT_EQ(env_var_name("llm_api_key"), "LLM_API_KEY");
  EXPECT_EQ(env_var_name("twilio.auth-token"), "TWILIO_AUTH_TOKEN");
  EXPECT_EQ(env_var_name("Stt9"), "STT9");
  EXPECT_TRUE(valid_setting_name("llm.provider"));
  EXPECT_FALSE(valid_setting_name("1abc"));
  EXPECT_FALSE(valid_setting_name("a b"));
  EXPECT_FALSE(valid_setting_name(std::string(129, 'a')));
  EXPECT_TRUE(valid_runtime_id("1voice"));
  EXPECT_FALSE(valid_runtime_id("../x"));
}

TEST(SettingsRuntimes, OnlyLoopbackUrls) {
  auto u = parse_loopback_url("http://127.0.0.1:8080/restart?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path, "/restart?x=1");
  EXPECT_EQ(parse_loopback_url("http://localhost/")->host, "127.0.0.1");
  EXPECT_EQ(parse_loopback_url("http://[::1]:9/h")->host, "::1");
  EXPECT_EQ(parse_loopback_url("http://localhost")->path, "/");
  for (const char* bad :
       {"https://127.0.0.1/", "http://127.0.0.1.evil/", "http://user@127.0.0.1/", "http://127.0.0.1@evil/",
        "http://10.0.0.1/", "http://127.0.0.1:99999/", "http://127.0.0.1/a b", "http://127.0.0.1/#f",
        "ftp://127.0.0.1/", "http://0.0.0.0/"}) {
    EXPECT_FALSE(parse_loopback_url(bad)) << bad;
  }
}

class SettingsCommandDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("settings_unit_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "allowed");
    fs::create_directories(dir_ / "other");
    make_script(dir_ / "allowed" / "ok.sh");
    make_script(dir_ / "other" / "no.sh");
    fs::create_symlink(dir_ / "other" / "no.sh", dir_ / "allowed" / "link.sh");
    std::ofstream(dir_ / "allowed" / "not-exec") << "x";
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void make_script(const fs::path& p) {
    std::ofstream(p) << "#!/bin/sh\nexit 0\n";
    ::chmod(p.c_str(), 0755);
  }
  std::vector<std::string> dirs() const { return {(dir_ / "allowed").string()}; }
  fs::path dir_;
};

TEST_F(SettingsCommandDirs, ExecutablesMustResolveInsideAnAllowedDirectory) {
  EXPECT_TRUE(allowed_executable((dir_ / "allowed" / "ok.sh").string(), dirs()));
  EXPECT_FALSE(allowed_executable((dir_ / "other" / "no.sh").string(), dirs()));
  EXPECT_FALSE(allowed_executable((dir_ / "allowed" / ".." / "other" / "no.sh").string(), dirs()));
  EXPECT_FALSE(allowed_executable((dir_ / "allowed" / "link.sh").string(), dirs())) << "symlink out";
  EXPECT_FALSE(allowed_executable((dir_ / "allowed" / "not-exec").string(), dirs()));
  EXPECT_FALSE(allowed_executable((dir_ / "allowed").string(), dirs())) << "a directory";
  EXPECT_FALSE(allowed_executable("ok.sh", dirs()));
  EXPECT_FALSE(allowed_executable((dir_ / "allowed" / "ok.sh").string(), {}));
}

TEST_F(SettingsCommandDirs, ApiRegistrationPolicy) {
  auto body = [&](const json& restart) {
    return json{{"id", "voice"}, {"settings", {"llm_api_key"}}, {"restart", restart}};
  };
  auto status = [&](const json& b, bool trusted, std::vector<std::string> d) {
    auto r = parse_runtime(b, trusted, d);
    return std::holds_alternative<Runtime>(r) ? 200 : std::get<PolicyError>(r).status;
  };
  json ok = body({{"command", {(dir_ / "allowed" / "ok.sh").string(), "--now"}}});
  EXPECT_EQ(status(ok, false, dirs()), 200);
  EXPECT_EQ(status(ok, false, {}), 403) << "no directories: no API command runtimes";
  json sh = body({{"command", {"/bin/sh", "-c", "id"}}});
  EXPECT_EQ(status(sh, false, dirs()), 403);
  EXPECT_EQ(status(sh, true, {}), 200) << "the file is trusted";
  EXPECT_EQ(status(body({{"command", {"sh"}}}), true, {}), 400) << "always an absolute path";
  EXPECT_EQ(status(body({{"command", json::array()}}), false, dirs()), 400);
  EXPECT_EQ(status(body({{"url", "http://127.0.0.1:1/r"}}), false, {}), 200);
  EXPECT_EQ(status(body({{"url", "http://example.com/r"}}), false, {}), 403);
  EXPECT_EQ(status(body({{"url", "http://127.0.0.1/"}, {"command", {"/bin/true"}}}), true, {}), 400);
  json no_settings = ok;
  no_settings["settings"] = json::array();
  EXPECT_EQ(status(no_settings, false, dirs()), 400);
  json bad_health = body({{"url", "http://127.0.0.1:1/r"}});
  bad_health["health_url"] = "http://169.254.169.254/latest";
  EXPECT_EQ(status(bad_health, false, {}), 403);
}

TEST_F(SettingsCommandDirs, RuntimesFile) {
  json file = {{"runtimes",
                {{{"id", "voice"}, {"settings", {"llm_api_key"}}, {"restart", {{"command", {"/bin/true"}}}},
                  {"app_id", "provisioner"}}}},
               {"settings", {{"llm_api_key", {{"probe", {"/bin/true"}}, {"canary", true}}}}}};
  std::ofstream(dir_ / "runtimes.json") << file.dump();
  auto loaded = load_runtimes_file((dir_ / "runtimes.json").string());
  ASSERT_EQ(loaded.runtimes.size(), 1u);
  EXPECT_TRUE(loaded.runtimes[0].from_config);
  EXPECT_EQ(loaded.runtimes[0].app_id, "provisioner");
  EXPECT_TRUE(loaded.settings.at("llm_api_key").canary);
  EXPECT_EQ(loaded.settings.at("llm_api_key").probe, std::vector<std::string>{"/bin/true"});

  std::ofstream(dir_ / "bad.json") << R"({"settings": {"x": {"probe": ["relative"]}}})";
  EXPECT_THROW(load_runtimes_file((dir_ / "bad.json").string()), std::runtime_error);
  EXPECT_THROW(load_runtimes_file((dir_ / "missing.json").string()), std::runtime_error);
}

// The options' environment variables: tests/service/unit/config_test.cpp
// (Config, RuntimesAndRelayVariables).

TEST(SettingsProbe, ReadsTheCandidateOnStdinAndAcceptsOnExitZero) {
  EXPECT_TRUE(run_probe({"/bin/sh", "-c", "read -r v; [ \"$v\" = good ]"}, "x", "good", 5s).ok());
  EXPECT_FALSE(run_probe({"/bin/sh", "-c", "read -r v; [ \"$v\" = good ]"}, "x", "bad", 5s).ok());
  // A probe that never reads a large value still ends (no blocked write).
  EXPECT_TRUE(run_probe({"/bin/true"}, "x", std::string(1 << 20, 'v'), 5s).ok());
  EXPECT_TRUE(run_probe({"/bin/sh", "-c", "[ \"$PGSECRETS_SETTING_NAME\" = x ]"}, "x", "", 5s).ok());
}

}  // namespace
}  // namespace secretsd::runtimes
