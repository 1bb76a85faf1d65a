// A throwaway database per test, on the server named by PGHOST/PGPORT/
// PGUSER/PGDATABASE. Tests skip unless PGSECRETS_TEST_DB is set and not 0
// (as everywhere in the suite: scripts, integration and browser tests).
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

namespace secretsd::db::testing {

inline bool database_tests_enabled() {
  const char* v = std::getenv("PGSECRETS_TEST_DB");
  return v != nullptr && *v != '\0' && std::string(v) != "0";
}

// Creates a fresh database and drops it (WITH (FORCE)) on destruction.
class ScratchDatabase {
 public:
  ScratchDatabase() {
    static std::atomic<int> counter{0};
    name_ = "secretsd_unit_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    pqxx::connection admin("");
    pqxx::nontransaction tx(admin);
    tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    tx.exec("CREATE DATABASE " + name_);
  }
  ~ScratchDatabase() {
    try {
      pqxx::connection admin("");
      pqxx::nontransaction tx(admin);
      tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {
    }
  }
  ScratchDatabase(const ScratchDatabase&) = delete;
  ScratchDatabase& operator=(const ScratchDatabase&) = delete;

  // Keyword form; host/port/user still come from the PG* environment.
  std::string conninfo() const { return "dbname=" + name_; }

 private:
  std::string name_;
};

}  // namespace secretsd::db::testing

#define SKIP_WITHOUT_DATABASE()                                          \
  do {                                                                   \
    if (!secretsd::db::testing::database_tests_enabled())                \
      GTEST_SKIP() << "PGSECRETS_TEST_DB not set: no PostgreSQL to use"; \
  } while (0)
