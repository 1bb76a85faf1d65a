#include "accounts/recovery_codes.h"

#include <regex>
#include <set>

#include <gtest/gtest.h>

#include "identity/tokens.h"

namespace secretsd::accounts {
namespace {

const std::string kPepper = identity::derive_credential_pepper("a test AUTH_SECRET_KEY of 32+ bytes");

TEST(RecoveryCodes, TenDistinctCodesInFourGroupsOfFour) {
  const auto codes = recovery_codes::generate();
  ASSERT_EQ(codes.size(), 10u);
  const std::regex shape("^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$");
  for (const auto& code : codes) EXPECT_TRUE(std::regex_match(code, shape)) << code;
  EXPECT_EQ(std::set<std::string>(codes.begin(), codes.end()).size(), 10u);
  EXPECT_NE(recovery_codes::generate(), codes);
}

TEST(RecoveryCodes, NormalizeAcceptsTypingVariantsOnly) {
  EXPECT_EQ(recovery_codes::normalize("ABCD-EFGH-JKLM-NP23"), "ABCDEFGHJKLMNP23");
  EXPECT_EQ(recovery_codes::normalize("abcd efgh jklm np23"), "ABCDEFGHJKLMNP23");
  EXPECT_EQ(recovery_codes::normalize("abcdefghjklmnp23"), "ABCDEFGHJKLMNP23");
  for (const std::string& bad : std::vector<std::string>{"", "ABCD-EFGH-JKLM-NP2", "ABCD-EFGH-JKLM-NP234",
                                "ABCD-EFGH-JKLM-NP21" /* 1 is not base32 */, "ABCD_EFGH_JKLM_NP23",
                                "123456", std::string("ABCD-EFGH-JKLM-NP2\0", 19)}) {
    EXPECT_EQ(recovery_codes::normalize(bad), std::nullopt) << bad;
  }
}

TEST(RecoveryCodes, HashIsTheKeyedHashOfTheCanonicalForm) {
  const std::string code = "abcd-efgh-jklm-np23";
  EXPECT_EQ(recovery_codes::hash(kPepper, code),
            identity::credential_hash(kPepper, "ABCDEFGHJKLMNP23"));
  EXPECT_EQ(recovery_codes::hash(kPepper, code), recovery_codes::hash(kPepper, "ABCDEFGHJKLMNP23"));
  EXPECT_NE(recovery_codes::hash(kPepper, code),
            recovery_codes::hash(identity::derive_credential_pepper("another key, also 32 bytes!!"),
                                 code));
  EXPECT_THROW(recovery_codes::hash(kPepper, "nope"), std::invalid_argument);
}

TEST(RecoveryCodes, FindsTheMatchingStoredHashWhereverItIs) {
  const auto codes = recovery_codes::generate();
  std::vector<std::string> stored;
  for (const auto& c : codes) stored.push_back(recovery_codes::hash(kPepper, c));
  for (std::size_t i = 0; i < codes.size(); ++i) {
    EXPECT_EQ(recovery_codes::find(kPepper, codes[i], stored), i);
  }
  // Typed in lower case without dashes.
  std::string typed;
  for (char c : codes[3]) {
    if (c != '-') typed.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  EXPECT_EQ(recovery_codes::find(kPepper, typed, stored), 3u);
}

TEST(RecoveryCodes, WrongCodesAndWrongPepperFindNothing) {
  const auto codes = recovery_codes::generate();
  std::vector<std::string> stored;
  for (const auto& c : codes) stored.push_back(recovery_codes::hash(kPepper, c));
  EXPECT_EQ(recovery_codes::find(kPepper, recovery_codes::generate()[0], stored), std::nullopt);
  EXPECT_EQ(recovery_codes::find(kPepper, "not a code", stored), std::nullopt);
  EXPECT_EQ(recovery_codes::find(kPepper, codes[0], {}), std::nullopt);
  const auto other_pepper = identity::derive_credential_pepper("another key, also 32 bytes!!");
  EXPECT_EQ(recovery_codes::find(other_pepper, codes[0], stored), std::nullopt);
  // The stored hash itself is not a code.
  EXPECT_EQ(recovery_codes::find(kPepper, stored[0], stored), std::nullopt);
  // One character off.
  std::string off = codes[5];
  off[0] = off[0] == 'A' ? 'B' : 'A';
  EXPECT_EQ(recovery_codes::find(kPepper, off, stored), std::nullopt);
}

}  // namespace
}  // namespace secretsd::accounts
