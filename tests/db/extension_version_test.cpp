#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include <pqxx/pqxx>

#include "db/extension_version.h"
#include "db_test_support.h"

namespace secretsd::db {
namespace {

bool mentions(const std::optional<std::string>& refusal, const std::string& text) {
  return refusal && refusal->find(text) != std::string::npos;
}

TEST(DbExtensionVersion, AcceptsTheRequiredVersionAndLaterMinorOnes) {
  EXPECT_EQ(extension_version_refusal(std::string("0.3.0")), std::nullopt);
  EXPECT_EQ(extension_version_refusal(std::string("0.3.7")), std::nullopt);
  EXPECT_EQ(extension_version_refusal(std::string("0.4.0")), std::nullopt);
  EXPECT_EQ(extension_version_refusal(std::string("0.10.0")), std::nullopt);  // numbers, not text
}

TEST(DbExtensionVersion, RefusesOlderVersionsNamingTheUpdate) {
  for (const char* old : {"0.1.0", "0.2.0", "0.2.9"}) {
    const auto refusal = extension_version_refusal(std::string(old));
    EXPECT_TRUE(mentions(refusal, std::string("version ") + old)) << old;
    EXPECT_TRUE(mentions(refusal, "ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'")) << old;
  }
}

TEST(DbExtensionVersion, RefusesAMissingExtension) {
  const auto refusal = extension_version_refusal(std::nullopt);
  EXPECT_TRUE(mentions(refusal, "not installed"));
  EXPECT_TRUE(mentions(refusal, "CREATE EXTENSION pgsecrets"));
  EXPECT_TRUE(mentions(refusal, "0.3.0"));
}

TEST(DbExtensionVersion, RefusesALaterMajorVersion) {
  const auto refusal = extension_version_refusal(std::string("1.0.0"));
  EXPECT_TRUE(mentions(refusal, "major version"));
  EXPECT_TRUE(mentions(refusal, "0.3.0"));
}

TEST(DbExtensionVersion, RefusesAVersionItCannotRead) {
  for (const char* odd : {"", "0.3", "0.3.0-beta", "v0.3.0", "0.3.0.1", "99999999999.0.0"}) {
    EXPECT_TRUE(mentions(extension_version_refusal(std::string(odd)), "0.3.0")) << odd;
  }
}

// Against the test cluster: the version PostgreSQL reports is the one judged.
class DbExtensionVersionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_DATABASE();
    scratch_ = std::make_unique<testing::ScratchDatabase>();
  }
  void run(const std::string& sql) {
    pqxx::connection c(scratch_->conninfo());
    pqxx::nontransaction tx(c);
    tx.exec(sql);
  }
  std::optional<std::string> check() {
    pqxx::connection c(scratch_->conninfo());
    return check_extension_version(c);
  }
  std::unique_ptr<testing::ScratchDatabase> scratch_;
};

TEST_F(DbExtensionVersionTest, RefusesNoExtensionAndOldVersionsUntilUpdated) {
  EXPECT_TRUE(mentions(check(), "not installed"));
  run("CREATE EXTENSION pgsecrets VERSION '0.2.0'");
  EXPECT_TRUE(mentions(check(), "version 0.2.0"));
  EXPECT_TRUE(mentions(check(), "ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'"));
  run("ALTER EXTENSION pgsecrets UPDATE TO '0.3.0'");
  EXPECT_EQ(check(), std::nullopt);
}

TEST_F(DbExtensionVersionTest, AcceptsAFreshInstall) {
  run("CREATE EXTENSION pgsecrets");
  EXPECT_EQ(check(), std::nullopt);
}

}  // namespace
}  // namespace secretsd::db
