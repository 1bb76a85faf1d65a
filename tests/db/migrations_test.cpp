#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <pqxx/pqxx>

#include "db/migrations.h"
#include "db_test_support.h"

namespace secretsd::db {
namespace {

namespace fs = std::filesystem;

class MigrationDir {
 public:
  MigrationDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("secretsd-migrations-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~MigrationDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  void write(const std::string& name, const std::string& sql) const {
    std::ofstream(path_ / name, std::ios::binary) << sql;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(DbMigrationFiles, ListsNumberedFilesInOrder) {
  MigrationDir dir;
  dir.write("0002_second.sql", "SELECT 2;");
  dir.write("0001_first.sql", "SELECT 1;");
  dir.write("README.md", "ignored");
  dir.write("0003_bad name.sql", "ignored");
  auto files = list_migrations(dir.path());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].version, 1);
  EXPECT_EQ(files[0].name, "first");
  EXPECT_EQ(files[1].version, 2);
  EXPECT_EQ(files[0].checksum, sha256_hex("SELECT 1;"));
}

TEST(DbMigrationFiles, DuplicateVersionIsRefused) {
  MigrationDir dir;
  dir.write("0001_a.sql", "SELECT 1;");
  dir.write("1_b.sql", "SELECT 1;");
  EXPECT_THROW(list_migrations(dir.path()), MigrationError);
}

TEST(DbMigrationFiles, Sha256KnownAnswer) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

class DbMigrationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_DATABASE();
    scratch_ = std::make_unique<testing::ScratchDatabase>();
    dir_.write("0001_create.sql", "CREATE TABLE secretsd.things (id int PRIMARY KEY);");
    dir_.write("0002_seed.sql",
               "INSERT INTO secretsd.things VALUES (1);\nINSERT INTO secretsd.things VALUES (2);");
  }
  int count(const std::string& sql) {
    pqxx::connection c(scratch_->conninfo());
    pqxx::nontransaction tx(c);
    return tx.exec1(sql)[0].as<int>();
  }
  std::unique_ptr<testing::ScratchDatabase> scratch_;
  MigrationDir dir_;
};

TEST_F(DbMigrationsTest, AppliesOnceAndRerunIsANoOp) {
  pqxx::connection conn(scratch_->conninfo());
  auto first = apply_migrations(conn, dir_.path());
  EXPECT_EQ(first.applied, (std::vector<int>{1, 2}));
  EXPECT_TRUE(first.already_applied.empty());
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.things"), 2);

  auto second = apply_migrations(conn, dir_.path());
  EXPECT_TRUE(second.applied.empty());
  EXPECT_EQ(second.already_applied, (std::vector<int>{1, 2}));
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.things"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.schema_migrations WHERE checksum ~ '^[0-9a-f]{64}$'"), 2);

  dir_.write("0003_more.sql", "INSERT INTO secretsd.things VALUES (3);");
  auto third = apply_migrations(conn, dir_.path());
  EXPECT_EQ(third.applied, (std::vector<int>{3}));
}

TEST_F(DbMigrationsTest, ChangedAppliedMigrationIsRefused) {
  pqxx::connection conn(scratch_->conninfo());
  apply_migrations(conn, dir_.path());
  dir_.write("0002_seed.sql", "INSERT INTO secretsd.things VALUES (99);");
  dir_.write("0003_more.sql", "INSERT INTO secretsd.things VALUES (3);");
  EXPECT_THROW(apply_migrations(conn, dir_.path()), MigrationError);
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.things"), 2);  // 0003 not applied either
}

TEST_F(DbMigrationsTest, MissingAppliedMigrationIsRefused) {
  pqxx::connection conn(scratch_->conninfo());
  apply_migrations(conn, dir_.path());
  fs::remove(dir_.path() / "0002_seed.sql");
  EXPECT_THROW(apply_migrations(conn, dir_.path()), MigrationError);
}

TEST_F(DbMigrationsTest, FailingMigrationRollsBackAndIsNotRecorded) {
  dir_.write("0003_broken.sql", "INSERT INTO secretsd.things VALUES (3); SELECT 1/0;");
  pqxx::connection conn(scratch_->conninfo());
  EXPECT_THROW(apply_migrations(conn, dir_.path()), MigrationError);
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.things"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.schema_migrations"), 2);
}

TEST_F(DbMigrationsTest, ConcurrentAppliersApplyExactlyOnce) {
  // Slow enough that the two runs overlap.
  dir_.write("0003_slow.sql", "SELECT pg_sleep(0.3); INSERT INTO secretsd.things VALUES (3);");
  MigrationReport a;
  MigrationReport b;
  std::exception_ptr error_a;
  std::exception_ptr error_b;
  auto run = [this](MigrationReport& out, std::exception_ptr& err) {
    try {
      pqxx::connection conn(scratch_->conninfo());
      out = apply_migrations(conn, dir_.path());
    } catch (...) {
      err = std::current_exception();
    }
  };
  std::thread ta(run, std::ref(a), std::ref(error_a));
  std::thread tb(run, std::ref(b), std::ref(error_b));
  ta.join();
  tb.join();
  ASSERT_FALSE(error_a);
  ASSERT_FALSE(error_b);
  EXPECT_EQ(a.applied.size() + b.applied.size(), 3u);
  EXPECT_EQ(a.applied.size() * b.applied.size(), 0u);  // one did all the work
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.things"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM secretsd.schema_migrations"), 3);
}

}  // namespace
}  // namespace secretsd::db
