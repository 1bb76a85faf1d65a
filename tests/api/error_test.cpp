// The SQLSTATE -> HTTP mapping of database errors (api/error.h):
// each state's status and text, and that a database error's own wording
// reaches the client only when the extension marked it as written for
// clients (SCHEMA "secrets", TABLE "api") and only for 22023 and P0002.
// The errors are built as libpq reports them on the pool's verbose
// connections; no database is needed.
#include "api/error.h"

#include <pqxx/except>

#include <string>

#include <gtest/gtest.h>

namespace secretsd::api {
namespace {

const std::string kCanary = "canary-3f9a1c value and statement text";

// A verbose libpq error text: the primary line, then the given field lines.
std::string verbose(const std::string& state, const std::string& primary, const std::string& fields = "") {
  return "ERROR:  " + state + ": " + primary + "\n" + fields + "LOCATION:  exec_stmt_raise, pl_exec.c:3907\n";
}
const std::string kMarked = "SCHEMA NAME:  secrets\nTABLE NAME:  api\nCOLUMN NAME:  key\n";

pqxx::sql_error error(const std::string& state, const std::string& text) {
  return pqxx::sql_error(text, "SELECT secrets.set_secret('K', '" + kCanary + "')", state.c_str());
}

// Maps and returns the answer; what was logged goes to `logged`.
ApiError map(const pqxx::sql_error& e, const std::string& key, std::string* logged = nullptr) {
  testing::internal::CaptureStderr();
  ApiError answer = from_sql_error(e, key);
  std::string out = testing::internal::GetCapturedStderr();
  if (logged) *logged = out;
  return answer;
}

TEST(FromSqlError, MarkedValidationErrorsPassTheirPrimaryText) {
  auto a = map(error("22023", verbose("22023", "Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)",
                                      "DETAIL:  the detail is not passed\n" + kMarked)),
               "bad key");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message, "Key must be SCREAMING_SNAKE_CASE (e.g., MY_API_KEY)");
  // Without the SQLSTATE in the line (a terse connection) too.
  a = map(error("22023", "ERROR:  scope must be integration or node\n" + kMarked), "K");
  EXPECT_EQ(a.status, 400);
  EXPECT_EQ(a.message, "scope must be integration or node");
}

TEST(FromSqlError, UnmarkedValidationErrorsGetAFixedTextAndALogLine) {
  for (const std::string& fields : {std::string(), std::string("SCHEMA NAME:  secrets\n"),
                                    std::string("TABLE NAME:  api\n"),
                                    std::string("SCHEMA NAME:  public\nTABLE NAME:  api\n"),
                                    std::string("SCHEMA NAME:  secrets\nTABLE NAME:  secrets\n"),
                                    std::string("SCHEMA NAME:  secrets\nTABLE NAME:  api_x\n")}) {
    std::string logged;
    auto a = map(error("22023", verbose("22023", "invalid value " + kCanary, fields)), "K", &logged);
    EXPECT_EQ(a.status, 400) << fields;
    EXPECT_EQ(a.message, "Bad request") << fields;
    EXPECT_EQ(logged, "{\"event\":\"secret_validation_unmapped\",\"sqlstate\":\"22023\"}\n");
  }
}

TEST(FromSqlError, TheMarkerMustBeAFieldNotPartOfTheMessage) {
  // The marker's words inside the primary line are not the fields.
  auto a = map(error("22023", verbose("22023", kCanary + " SCHEMA NAME:  secrets TABLE NAME:  api")), "K");
  EXPECT_EQ(a.message, "Bad request");
}

TEST(FromSqlError, UniqueViolationIsAlreadyExists) {
  auto a = map(error("23505", verbose("23505", "duplicate key value violates unique constraint \"x\"",
                                      "DETAIL:  Key (key)=(" + kCanary + ") already exists.\n" + kMarked)),
               "MY_KEY");
  EXPECT_EQ(a.status, 409);
  EXPECT_EQ(a.message, "Secret with key \"MY_KEY\" already exists");
  EXPECT_EQ(a.message, already_exists_message("MY_KEY"));
}

TEST(FromSqlError, NoDataFound) {
  auto a = map(error("P0002", verbose("P0002", "Version 3 of secret \"MY_KEY\" is not kept", kMarked)), "MY_KEY");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.message, "Version 3 of secret \"MY_KEY\" is not kept");
  a = map(error("P0002", verbose("P0002", "query returned no rows " + kCanary)), "MY_KEY");
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.message, "Secret with key \"MY_KEY\" not found");
  EXPECT_EQ(a.message, not_found_message("MY_KEY"));
}

TEST(FromSqlError, EachStateItsStatusAndFixedText) {
  struct Case {
    const char* state;
    int status;
    std::string message;
    const char* event;  // the log line's event, or nullptr for none
  };
  for (const Case& c : std::initializer_list<Case>{
           {"SE005", 412, "Secret with key \"MY_KEY\" has changed since the version in If-Match", nullptr},
           {"SE006", 410, "Secret with key \"MY_KEY\" was deleted too long ago to be restored", nullptr},
           {"42501", 403, "Forbidden", nullptr},
           {"SE001", 500, "Secret could not be decrypted", "secret_decrypt_failed"},
           {"SE002", 503, "No root key loaded", "secret_no_root_key"},
           {"42P01", 500, "Internal server error", "secret_sql_error"},
           {"40001", 500, "Internal server error", "secret_sql_error"},
           {"22P02", 500, "Internal server error", "secret_sql_error"},
           {"23514", 500, "Internal server error", "secret_sql_error"},
       }) {
    // Marked or not, these states never pass the database's text.
    for (const std::string& fields : {std::string(), kMarked}) {
      std::string logged;
      auto a = map(error(c.state, verbose(c.state, "text " + kCanary, fields)), "MY_KEY", &logged);
      EXPECT_EQ(a.status, c.status) << c.state;
      EXPECT_EQ(a.message, c.message) << c.state;
      std::string expected_log =
          c.event ? "{\"event\":\"" + std::string(c.event) + "\",\"sqlstate\":\"" + c.state + "\"}\n" : "";
      EXPECT_EQ(logged, expected_log) << c.state;
    }
  }
}

// Household roles (issue 22): the extension's refusal and secretsd's member
// rules (migrations/0012), by SQLSTATE alone, with fixed texts.
TEST(FromSqlError, RoleAndMemberStatesMapToTheirStatuses) {
  struct Case {
    const char* state;
    int status;
  };
  for (const Case& c : {Case{"SE009", 403}, Case{"SD400", 400}, Case{"SD403", 403}, Case{"SD404", 404},
                        Case{"SD409", 409}}) {
    std::string logged;
    auto a = map(error(c.state, verbose(c.state, "permission denied: role \"reader\" " + kCanary, kMarked)),
                 "K", &logged);
    EXPECT_EQ(a.status, c.status) << c.state;
    EXPECT_EQ(a.message.find("canary"), std::string::npos) << c.state;
    EXPECT_EQ(logged, "") << c.state;
  }
  EXPECT_EQ(map(error("SE009", verbose("SE009", "x")), "K").message, kRoleRefused);
}

TEST(FromSqlError, AnErrorWithoutSqlstateIsInternal) {
  std::string logged;
  auto a = map(pqxx::sql_error("ERROR:  " + kCanary + "\n" + kMarked, "SELECT 1"), "K", &logged);
  EXPECT_EQ(a.status, 500);
  EXPECT_EQ(a.message, "Internal server error");
  EXPECT_EQ(logged, "{\"event\":\"secret_sql_error\",\"sqlstate\":\"\"}\n");
}

TEST(FromSqlError, NoUnmarkedTextOrQueryEverReachesTheAnswerOrTheLog) {
  for (const char* state : {"22023", "23505", "P0002", "SE001", "SE002", "SE005", "SE006", "42501", "XX000",
                            "57014", "08006", "22P02", "SE009", "SD400", "SD403", "SD404", "SD409"}) {
    std::string logged;
    auto a = map(error(state, verbose(state, kCanary, "DETAIL:  " + kCanary + "\nHINT:  " + kCanary + "\n")), "K",
                 &logged);
    EXPECT_EQ(a.message.find("canary"), std::string::npos) << state << ": " << a.message;
    EXPECT_EQ(logged.find("canary"), std::string::npos) << state << ": " << logged;
    EXPECT_GE(a.status, 400) << state;
  }
}

}  // namespace
}  // namespace secretsd::api
