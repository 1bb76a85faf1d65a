#include "accounts/password_policy.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace secretsd::accounts {
namespace {

const std::string kEmail = "alice.smith@example.com";
const std::string kName = "Alice Smith";

std::string refusal(const std::string& password) {
  return password_refusal(password, kEmail, kName).value_or("");
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

TEST(PasswordPolicy, ScoreThreeIsAHundredMillionGuesses) {
  // libzxcvbn returns log2(guesses); zxcvbn's score 3 starts at 1e8 guesses.
  EXPECT_NEAR(kMinPasswordGuessesLog2, std::log2(1e8), 1e-12);
}

TEST(PasswordPolicy, StrongPasswordsAreAccepted) {
  for (const std::string strong :
       {"correct horse battery staple", "xkcd-vowel-grassy-lamp", "q8Zp!x2Lm#7v",
        "Zürich-Bärengraben-1847?", "mauve-otter-quarterly-sprocket"}) {
    EXPECT_EQ(password_refusal(strong, kEmail, kName), std::nullopt) << strong;
  }
}

TEST(PasswordPolicy, ShortPasswordsAreRefusedFirst) {
  for (const std::string short_one : {"", "password", "q8Zp!x2Lm#7", "Tr0ub4dour&"}) {
    EXPECT_EQ(refusal(short_one), "too short: use at least 12 characters") << short_one;
  }
}

TEST(PasswordPolicy, LengthCountsCodePointsNotBytes) {
  // 11 characters in 22 bytes: still too short.
  const std::string eleven = "éàüöäëïôûçñ";
  ASSERT_EQ(eleven.size(), 22u);
  EXPECT_EQ(refusal(eleven), "too short: use at least 12 characters");
  // 12 characters: long enough, judged on strength instead.
  EXPECT_NE(refusal(eleven + "ß"), "too short: use at least 12 characters");
  EXPECT_EQ(utf8_code_points("Zürich"), 6u);
  EXPECT_EQ(utf8_code_points("\xF0\x9F\x94\x91"), 1u);  // U+1F511, 4 bytes
}

TEST(PasswordPolicy, OverlyLongPasswordsAreRefused) {
  std::string strong = "q8Zp!x2Lm#7v";
  while (strong.size() < kMaxPasswordCharacters) strong += "Xk9$vB2p";
  strong.resize(kMaxPasswordCharacters);
  EXPECT_EQ(password_refusal(strong, kEmail, kName), std::nullopt);
  EXPECT_EQ(refusal(strong + "z"), "too long: use at most 1024 characters");
}

TEST(PasswordPolicy, InvalidUtf8IsRefused) {
  for (const std::string& bad : std::vector<std::string>{std::string(12, '\xFF'), std::string("abcdefghijk\xC3"),
                                std::string("\xC0\xAF") + "abcdefghijkl",  // overlong '/'
                                std::string("\xED\xA0\x80") + "abcdefghijkl"}) {  // surrogate
    EXPECT_EQ(refusal(bad), "not valid UTF-8");
  }
}

TEST(PasswordPolicy, CommonPasswordsAreTooCommon) {
  for (const std::string common : {"passwordpassword", "password1234", "Password123!",
                                   "iloveyou1234", "letmein12345", "p@ssw0rd1234",
                                   "monkeydragon1", "qwertyuiopasdf"}) {
    EXPECT_TRUE(starts_with(refusal(common), "too common: ")) << common << ": " << refusal(common);
  }
}

TEST(PasswordPolicy, TheirOwnEmailOrNameIsTooEasyToGuess) {
  const std::string own = "too easy to guess: it contains your email address or name";
  EXPECT_EQ(refusal("alice.smith.1990"), own);
  EXPECT_EQ(refusal("SmithAlice!2024"), own);
  EXPECT_EQ(refusal("alice.smith@example.com"), own);
  // Built from the name only: refused for its owner, fine for someone else.
  const std::string password = "QuorvelXanthe!2024";
  EXPECT_EQ(password_refusal(password, "xanthe.quorvel@example.com", "").value_or(""), own);
  EXPECT_EQ(password_refusal(password, "x@example.com", "Xanthe Quorvel").value_or(""), own);
  EXPECT_EQ(password_refusal(password, "bob@example.org", "Bob"), std::nullopt);
}

TEST(PasswordPolicy, PatternsAreTooEasyToGuessAndSayWhy) {
  EXPECT_EQ(refusal("asdfghjkl;123"), "too easy to guess: it follows a keyboard pattern");
  EXPECT_EQ(refusal("abcdefghijklmn"),
            "too easy to guess: it is mostly a sequence such as abcd or 1234");
  EXPECT_EQ(refusal("123456789012"),
            "too easy to guess: it is mostly a sequence such as abcd or 1234");
  EXPECT_EQ(refusal("abcabcabcabc"), "too easy to guess: it repeats characters or words");
  EXPECT_EQ(refusal("ääääääääääää"), "too easy to guess: it repeats characters or words");
  EXPECT_EQ(refusal("12/25/1998!!"), "too easy to guess: it is mostly a date or a year");
  EXPECT_EQ(refusal("19900101abcd"), "too easy to guess: it is mostly a date or a year");
}

TEST(PasswordPolicy, RefusalsNeverRepeatThePassword) {
  for (const std::string weak : {"password1234", "alice.smith.1990", "asdfghjkl;123"}) {
    EXPECT_EQ(refusal(weak).find(weak), std::string::npos);
  }
}

}  // namespace
}  // namespace secretsd::accounts
