// Pure checks behind the auth endpoints (accounts/validation.h,
// identity/validation.h).
#include <string>

#include <gtest/gtest.h>

#include "accounts/validation.h"
#include "identity/validation.h"

namespace secretsd {
namespace {

using accounts::is_valid_email;
using accounts::is_valid_household_name;
using accounts::is_valid_password;
using identity::is_uuid;
using identity::is_valid_app_id;
using identity::is_valid_node_id;

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

TEST(AuthValidation, Uuids) {
  EXPECT_TRUE(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_TRUE(is_uuid("123E4567-E89B-12D3-A456-426614174000"));
  EXPECT_FALSE(is_uuid("123e4567e89b12d3a456426614174000"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-12d3-a456-42661417400g"));
  EXPECT_FALSE(is_uuid("{123e4567-e89b-12d3-a456-426614174000}"));
  EXPECT_FALSE(is_uuid(""));
}

TEST(AuthValidation, AppAndNodeIdsFollowTheTableConstraints) {
  EXPECT_TRUE(is_valid_app_id("jarvis-command-center"));
  EXPECT_TRUE(is_valid_app_id("a"));
  EXPECT_FALSE(is_valid_app_id("Upper"));
  EXPECT_FALSE(is_valid_app_id("-lead"));
  EXPECT_FALSE(is_valid_app_id("has space"));
  EXPECT_FALSE(is_valid_app_id(std::string(65, 'a')));
  EXPECT_TRUE(is_valid_node_id("Kitchen-Pi.2_a"));
  EXPECT_FALSE(is_valid_node_id("node:1"));
  EXPECT_FALSE(is_valid_node_id("_lead"));
  EXPECT_FALSE(is_valid_node_id(std::string(129, 'n')));
  EXPECT_TRUE(is_valid_node_id(std::string(128, 'n')));
}

}  // namespace
}  // namespace secretsd
