#include "identity/api_keys.h"

#include <set>

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/keyed_hash.h"

namespace secretsd {
namespace {

using identity::kMaxNodeApiKeyHeaderBytes;
using identity::parse_node_api_key;

const std::string kPepper = "pepper-key-for-tests-0123456789abcdef";

TEST(ApiKeys, GeneratedTokensAreUrlSafeAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto token = generate_token();
    EXPECT_EQ(token.size(), 43u);
    EXPECT_EQ(token.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos);
    EXPECT_EQ(base64url_decode(token)->size(), 32u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ApiKeys, TokenSizeBounds) {
  EXPECT_EQ(generate_token(16).size(), 22u);
  EXPECT_EQ(generate_token(48).size(), 64u);
  EXPECT_THROW(generate_token(0), std::invalid_argument);
  EXPECT_THROW(generate_token(15), std::invalid_argument);
  EXPECT_THROW(generate_token(1025), std::invalid_argument);
}

TEST(ApiKeys, KeyedHashIsHmacSha256Hex) {
  // RFC 4231 test case 2.
  EXPECT_EQ(keyed_hash("what do ya want for nothing?", "Jefe"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ApiKeys, KeyedHashDependsOnSecretAndPepper) {
  const auto hash = keyed_hash("api-key", kPepper);
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash, keyed_hash("api-key", kPepper));
  EXPECT_NE(hash, keyed_hash("api-key2", kPepper));
  EXPECT_NE(hash, keyed_hash("api-key", kPepper + "x"));
  EXPECT_THROW(keyed_hash("api-key", ""), std::invalid_argument);
}

TEST(ApiKeys, MatchesKeyedHash) {
  const auto stored = keyed_hash("presented", kPepper);
  EXPECT_TRUE(matches_keyed_hash("presented", stored, kPepper));
  EXPECT_FALSE(matches_keyed_hash("presented!", stored, kPepper));
  EXPECT_FALSE(matches_keyed_hash("presented", stored, "other-pepper"));
  EXPECT_FALSE(matches_keyed_hash("presented", stored, ""));
  EXPECT_FALSE(matches_keyed_hash("presented", "", kPepper));
}

TEST(ApiKeys, DerivedSubkeysAreIndependent) {
  const auto a = derive_subkey(kPepper, "credential-pepper");
  const auto b = derive_subkey(kPepper, "jwt");
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, derive_subkey(kPepper, "credential-pepper"));
  EXPECT_THROW(derive_subkey("", "jwt"), std::invalid_argument);
}

TEST(ApiKeys, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(ApiKeys, ParsesNodeApiKey) {
  const auto parsed = parse_node_api_key("node-42:abcDEF_123-xyz");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->node_id, "node-42");
  EXPECT_EQ(parsed->api_key, "abcDEF_123-xyz");
}

TEST(ApiKeys, SplitsAtFirstColon) {
  const auto parsed = parse_node_api_key("node:key:with:colons");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->node_id, "node");
  EXPECT_EQ(parsed->api_key, "key:with:colons");
}

TEST(ApiKeys, RejectsBadNodeApiKeys) {
  const std::string rejected[] = {
      "",
      "no-colon",
      ":key",
      "node:",
      ":",
      "node :key",
      "node:key ",
      " node:key",
      "node:ke\ty",
      "node:ke\ny",
      std::string("node:ke\0y", 9),
      "node:ke\x7fy",
      "n\xc3\xb6" "de:key",
      "node:" + std::string(kMaxNodeApiKeyHeaderBytes, 'k'),
  };
  for (const auto& value : rejected) {
    EXPECT_FALSE(parse_node_api_key(value).has_value()) << "case #" << (&value - rejected);
  }
}

TEST(ApiKeys, AcceptsUpToTheLengthLimit) {
  const std::string value = "node:" + std::string(kMaxNodeApiKeyHeaderBytes - 5, 'k');
  EXPECT_TRUE(parse_node_api_key(value).has_value());
}

TEST(Hex, RoundTripAndStrictness) {
  EXPECT_EQ(hex_encode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(hex_decode("00FF10").value(), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(hex_decode("abc").has_value());
  EXPECT_FALSE(hex_decode("zz").has_value());
}

}  // namespace
}  // namespace secretsd
