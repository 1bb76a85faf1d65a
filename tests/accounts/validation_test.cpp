// Pure checks behind the account endpoints (accounts/validation.h): emails,
// passwords, household names. The ids' checks: tests/identity/validation_test.cpp.
#include <string>

#include <gtest/gtest.h>

#include "accounts/validation.h"

namespace secretsd {
namespace {

using accounts::is_valid_email;
using accounts::is_valid_household_name;
using accounts::is_valid_password;

TEST(AuthValidation, AcceptsOrdinaryEmails) {
  for (const char* email : {"a@b.co", "first.last+tag@example.com", "X_Y-z@sub.domain.org",
                            "o'neil@example.ie"}) {
    EXPECT_TRUE(is_valid_email(email)) << email;
  }
}

TEST(AuthValidation, RejectsMalformedEmails) {
  for (const char* email :
       {"", "plain", "@example.com", "a@", "a@b", "a@@b.com", "a@b@c.com", "a b@c.com",
        "a@exa mple.com", "a@-bad.com", "a@bad-.com", "a@.com", "a@com.", "a@b..com",
        "a\n@b.com", "<a>@b.com", "a@b_c.com"}) {
    EXPECT_FALSE(is_valid_email(email)) << email;
  }
  EXPECT_FALSE(is_valid_email(std::string(65, 'a') + "@example.com"));
  EXPECT_FALSE(is_valid_email("a@" + std::string(250, 'b') + ".com"));
}

TEST(AuthValidation, PasswordLengthIsInBytes) {
  EXPECT_FALSE(is_valid_password(""));
  EXPECT_FALSE(is_valid_password("1234567"));
  EXPECT_TRUE(is_valid_password("12345678"));
  EXPECT_TRUE(is_valid_password(std::string(1024, 'x')));
  EXPECT_FALSE(is_valid_password(std::string(1025, 'x')));
  EXPECT_TRUE(is_valid_password("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"));  // 4 characters, 8 bytes
}

TEST(AuthValidation, HouseholdNames) {
  EXPECT_TRUE(is_valid_household_name("The Smiths"));
  EXPECT_FALSE(is_valid_household_name(""));
  EXPECT_FALSE(is_valid_household_name("tab\there"));
  EXPECT_FALSE(is_valid_household_name(std::string(201, 'h')));
}

}  // namespace
}  // namespace secretsd
