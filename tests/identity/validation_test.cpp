// Pure checks behind the identity of a caller (identity/validation.h): the
// ids a request names. The account fields' checks: tests/accounts/validation_test.cpp.
#include <string>

#include <gtest/gtest.h>

#include "identity/validation.h"

namespace secretsd {
namespace {

using identity::is_uuid;
using identity::is_valid_app_id;
using identity::is_valid_node_id;

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
