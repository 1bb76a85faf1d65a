// The runtimes' pieces that need no database: setting and runtime names,
// loopback restart URLs, the runtime registration policy and the runtimes
// file. The providers' masking and probe: tests/providers/settings_test.cpp.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include "runtimes/names.h"
#include "runtimes/runtimes.h"

namespace secretsd::runtimes {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

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

// The options' environment variables: tests/config/config_test.cpp
// (Config, RuntimesAndRelayVariables).

}  // namespace
}  // namespace secretsd::runtimes
