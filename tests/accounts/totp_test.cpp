// TOTP (RFC 6238) against the RFC's test vectors and the `oathtool` command
// (Debian's oathtool package, from the same toolkit but not through our code).
#include "accounts/totp.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "crypto/encoding.h"

namespace secretsd::accounts {
namespace {

// RFC 6238 appendix B's SHA-1 key.
const std::string kRfcSecret = "12345678901234567890";

struct PipeCloser {
  void operator()(FILE* f) const { pclose(f); }
};

// `oathtool --totp [-b] -N @<now> <key>`: its code, trimmed; "" if it failed.
std::string oathtool(const std::string& key_argument, std::time_t now, bool base32) {
  const std::string command = std::string("oathtool --totp ") + (base32 ? "-b " : "") + "-N @" +
                              std::to_string(static_cast<long long>(now)) + " " + key_argument +
                              " 2>/dev/null";
  std::unique_ptr<FILE, PipeCloser> pipe(popen(command.c_str(), "r"));
  if (!pipe) return "";
  char buffer[64] = {};
  std::string out;
  while (std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) out += buffer;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

bool oathtool_available() { return oathtool("3132333435363738393031323334353637383930", 59, false) == "287082"; }

TEST(Totp, RfcSixTwoThreeEightVectors) {
  // The RFC's 8-digit values, cut to our 6 digits.
  EXPECT_EQ(totp::code_at(kRfcSecret, 59), "287082");
  EXPECT_EQ(totp::code_at(kRfcSecret, 1111111109), "081804");
  EXPECT_EQ(totp::code_at(kRfcSecret, 1111111111), "050471");
  EXPECT_EQ(totp::code_at(kRfcSecret, 1234567890), "005924");
  EXPECT_EQ(totp::code_at(kRfcSecret, 2000000000), "279037");
  EXPECT_EQ(totp::code_at(kRfcSecret, static_cast<std::time_t>(20000000000LL)), "353130");
}

TEST(Totp, CodesMatchOathtool) {
  ASSERT_TRUE(oathtool_available()) << "oathtool (Debian package oathtool) is needed";
  for (int round = 0; round < 5; ++round) {
    const std::string secret = totp::new_secret();
    ASSERT_EQ(secret.size(), totp::kSecretBytes);
    for (const std::time_t now : {std::time_t{0}, std::time_t{29}, std::time_t{30},
                                  std::time_t{1700000000}, std::time_t{1700000029},
                                  std::time_t{4102444800}}) {
      const std::string expected = oathtool(hex_encode(secret), now, false);
      ASSERT_EQ(expected.size(), 6u);
      EXPECT_EQ(totp::code_at(secret, now), expected) << now;
      // The base32 form an app is given is the same key.
      EXPECT_EQ(oathtool(totp::base32_encode(secret), now, true), expected) << now;
      // And a code oathtool made is accepted, for the right step.
      EXPECT_EQ(totp::verify(secret, expected, now), totp::time_step(now)) << now;
    }
  }
}

TEST(Totp, SecretsAreRandomAndTwentyBytes) {
  const auto a = totp::new_secret();
  const auto b = totp::new_secret();
  EXPECT_EQ(a.size(), 20u);
  EXPECT_NE(a, b);
  const auto encoded = totp::base32_encode(a);
  EXPECT_EQ(encoded.size(), 32u);
  EXPECT_EQ(encoded.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos);
}

TEST(Totp, WindowIsOneStepEitherSide) {
  const std::string secret = totp::new_secret();
  const std::time_t start = 1700000010;  // step 56666667 starts at ...000010
  ASSERT_EQ(start % 30, 0);
  const auto step = totp::time_step(start);
  // At the first second of a step: the previous step's code still works,
  // the one before that does not; the next step's does.
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, start), start), step);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, start - 1), start), step - 1);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, start + 30), start), step + 1);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, start - 31), start), std::nullopt);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, start + 60), start), std::nullopt);
  // At the last second of the step.
  const std::time_t last = start + 29;
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, last + 1), last), step + 1);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, last + 31), last), std::nullopt);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, last - 30), last), step - 1);
  EXPECT_EQ(totp::verify(secret, totp::code_at(secret, last - 60), last), std::nullopt);
}

TEST(Totp, ForgedAndMalformedCodesAreRefused) {
  const std::string secret = totp::new_secret();
  const std::time_t now = 1700000000;
  const std::string good = totp::code_at(secret, now);
  // Every other 6-digit code differing in one digit.
  for (std::size_t i = 0; i < good.size(); ++i) {
    std::string forged = good;
    forged[i] = forged[i] == '9' ? '0' : static_cast<char>(forged[i] + 1);
    // (Could collide with a neighbour step's code: 2 in a million.)
    const auto matched = totp::verify(secret, forged, now);
    if (matched) {
      EXPECT_NE(*matched, totp::time_step(now));
    }
  }
  for (const std::string& bad : std::vector<std::string>{"", "12345", "1234567", "12345a", " " + good.substr(1),
                                good + " ", good.substr(0, 3) + " " + good.substr(3),
                                "\xEF\xBC\x91" "23456", good + std::string(1, '\0')}) {
    EXPECT_EQ(totp::verify(secret, bad, now), std::nullopt) << bad;
  }
  // The right code, for another secret (a false match: 3 in a million).
  EXPECT_EQ(totp::verify(kRfcSecret, good == totp::code_at(kRfcSecret, now) ? "000000" : good, now),
            std::nullopt);
}

TEST(Totp, SameCodeMatchesTheSameStepSoTheCallerCanRefuseReplay) {
  const std::string secret = totp::new_secret();
  const std::time_t now = 1700000000;
  const std::string code = totp::code_at(secret, now);
  const auto first = totp::verify(secret, code, now);
  const auto again = totp::verify(secret, code, now + 15);
  ASSERT_TRUE(first && again);
  EXPECT_EQ(*first, *again);
}

TEST(Totp, OtpauthUriIsPercentEncoded) {
  const std::string secret = kRfcSecret;
  EXPECT_EQ(totp::otpauth_uri(secret, "alice@example.com"),
            "otpauth://totp/pgsecrets:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
            "&issuer=pgsecrets&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(totp::otpauth_uri(secret, "a+b c:d/é?&=#%@x.org"),
            "otpauth://totp/pgsecrets:a%2Bb%20c%3Ad%2F%C3%A9%3F%26%3D%23%25@x.org"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=pgsecrets&algorithm=SHA1&digits=6"
            "&period=30");
}

TEST(Totp, TimeSteps) {
  EXPECT_EQ(totp::time_step(0), 0);
  EXPECT_EQ(totp::time_step(29), 0);
  EXPECT_EQ(totp::time_step(30), 1);
  EXPECT_EQ(totp::time_step(59), 1);
  EXPECT_EQ(totp::time_step(1111111109), 37037036);
}

}  // namespace
}  // namespace secretsd::accounts
