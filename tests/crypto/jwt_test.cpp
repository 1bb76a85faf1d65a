#include "crypto/jwt.h"

#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/hmac.h"

namespace secretsd {
namespace {

constexpr std::int64_t kNow = 1700000000;
const std::string kKey = "0123456789abcdef0123456789abcdef-test-key";

// RFC 7515 Appendix A.1.
constexpr std::string_view kRfcToken =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
    ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr std::string_view kRfcJwkK =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

JwtClaims access_claims() {
  JwtClaims claims;
  claims.sub = "user-1";
  claims.household = "household-1";
  claims.typ = std::string(kAccessTokenType);
  claims.iss = "secretsd";
  claims.aud = "pgsecrets";
  claims.jti = "jti-1";
  claims.iat = kNow;
  claims.exp = kNow + 900;
  return claims;
}

JwtExpectations expect_access() {
  return JwtExpectations{"secretsd", "pgsecrets", std::string(kAccessTokenType), kNow, 30};
}

std::string rfc_key() { return base64url_decode(kRfcJwkK).value(); }

// Builds a token with arbitrary header/payload text, correctly signed, to
// check that a valid signature alone is not enough.
std::string signed_token(const std::string& header, const nlohmann::json& payload,
                         const std::string& key = kKey) {
  std::string input = base64url_encode(header) + "." + base64url_encode(payload.dump());
  const auto mac = hmac_sha256(key, input);
  return input + "." +
         base64url_encode({reinterpret_cast<const char*>(mac.data()), mac.size()});
}

nlohmann::json access_payload() {
  return {{"sub", "user-1"}, {"hid", "household-1"}, {"typ", "access"},
          {"iss", "secretsd"}, {"aud", "pgsecrets"},       {"iat", kNow},
          {"exp", kNow + 900}};
}

constexpr const char* kGoodHeader = R"({"alg":"HS256","typ":"JWT"})";

TEST(Jwt, Rfc7515A1SignatureVerifies) {
  EXPECT_TRUE(verify_hs256_signature(kRfcToken, rfc_key()));
}

TEST(Jwt, Rfc7515A1SignatureMatchesRecomputedMac) {
  const std::string_view token = kRfcToken;
  const auto input = token.substr(0, token.rfind('.'));
  const auto mac = hmac_sha256(rfc_key(), input);
  EXPECT_EQ(base64url_encode({reinterpret_cast<const char*>(mac.data()), mac.size()}),
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
}

TEST(Jwt, Rfc7515A1FailsWithOtherKeyOrTamperedPayload) {
  EXPECT_FALSE(verify_hs256_signature(kRfcToken, "another key"));
  std::string tampered(kRfcToken);
  tampered[50] = tampered[50] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verify_hs256_signature(tampered, rfc_key()));
}

TEST(Jwt, Rfc7515A1PassesSignatureAndHeaderButLacksOurClaims) {
  const auto result = verify_jwt(kRfcToken, rfc_key(), expect_access());
  EXPECT_EQ(result.error, JwtError::missing_claim);
}

TEST(Jwt, RoundTrip) {
  auto claims = access_claims();
  claims.extra = {{"role", "admin"}, {"sub", "ignored: registered claims win"}};
  const auto token = sign_jwt(claims, kKey);
  const auto result = verify_jwt(token, kKey, expect_access());
  ASSERT_TRUE(result.ok()) << to_string(result.error);
  EXPECT_EQ(result.claims->sub, "user-1");
  EXPECT_EQ(result.claims->household, "household-1");
  EXPECT_EQ(result.claims->typ, "access");
  EXPECT_EQ(result.claims->iss, "secretsd");
  EXPECT_EQ(result.claims->aud, "pgsecrets");
  EXPECT_EQ(result.claims->jti, "jti-1");
  EXPECT_EQ(result.claims->iat, kNow);
  EXPECT_EQ(result.claims->exp, kNow + 900);
  EXPECT_EQ(result.claims->extra, nlohmann::json({{"role", "admin"}}));
}

TEST(Jwt, HeaderIsExactlyHs256Jwt) {
  const auto token = sign_jwt(access_claims(), kKey);
  EXPECT_EQ(base64url_decode(token.substr(0, token.find('.'))).value(),
            R"({"alg":"HS256","typ":"JWT"})");
}

TEST(Jwt, SignRejectsEmptyKeyAndNonObjectExtra) {
  EXPECT_THROW(sign_jwt(access_claims(), ""), std::invalid_argument);
  auto claims = access_claims();
  claims.extra = nlohmann::json::array({1, 2});
  EXPECT_THROW(sign_jwt(claims, kKey), std::invalid_argument);
  claims = access_claims();
  claims.sub = "\xff\xfe";
  EXPECT_THROW(sign_jwt(claims, kKey), std::invalid_argument);
}

TEST(Jwt, WrongKeyRejected) {
  const auto token = sign_jwt(access_claims(), kKey);
  EXPECT_EQ(verify_jwt(token, kKey + "x", expect_access()).error, JwtError::bad_signature);
  EXPECT_EQ(verify_jwt(token, "", expect_access()).error, JwtError::invalid_key);
}

TEST(Jwt, AlgNoneRejected) {
  const std::string unsigned_token = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                                     base64url_encode(access_payload().dump()) + ".";
  EXPECT_FALSE(verify_jwt(unsigned_token, kKey, expect_access()).ok());
  EXPECT_FALSE(verify_hs256_signature(unsigned_token, kKey));
  // Even when an attacker knows the key, "none" is not an algorithm we accept.
  const auto signed_none = signed_token(R"({"alg":"none","typ":"JWT"})", access_payload());
  EXPECT_EQ(verify_jwt(signed_none, kKey, expect_access()).error,
            JwtError::unsupported_algorithm);
}

TEST(Jwt, OtherAlgorithmsRejected) {
  for (const char* header : {R"({"alg":"HS512","typ":"JWT"})", R"({"alg":"RS256"})",
                             R"({"alg":"hs256"})", R"({"typ":"JWT"})", R"({"alg":256})"}) {
    const auto token = signed_token(header, access_payload());
    EXPECT_EQ(verify_jwt(token, kKey, expect_access()).error, JwtError::unsupported_algorithm)
        << header;
  }
}

TEST(Jwt, CritHeaderAndNonObjectHeaderRejected) {
  EXPECT_EQ(verify_jwt(signed_token(R"({"alg":"HS256","crit":["exp"]})", access_payload()), kKey,
                       expect_access()).error,
            JwtError::bad_header);
  EXPECT_EQ(verify_jwt(signed_token(R"(["HS256"])", access_payload()), kKey, expect_access()).error,
            JwtError::bad_header);
  EXPECT_EQ(verify_jwt(signed_token("not json", access_payload()), kKey, expect_access()).error,
            JwtError::bad_header);
}

TEST(Jwt, HeaderWithOtherOrderAccepted) {
  const auto token = signed_token(R"({"typ":"JWT","alg":"HS256"})", access_payload());
  EXPECT_TRUE(verify_jwt(token, kKey, expect_access()).ok());
}

TEST(Jwt, TamperedPayloadRejected) {
  const auto token = sign_jwt(access_claims(), kKey);
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  auto payload = access_payload();
  payload["hid"] = "household-2";
  const std::string forged =
      token.substr(0, first + 1) + base64url_encode(payload.dump()) + token.substr(second);
  EXPECT_EQ(verify_jwt(forged, kKey, expect_access()).error, JwtError::bad_signature);
}

TEST(Jwt, TamperedSignatureRejected) {
  auto token = sign_jwt(access_claims(), kKey);
  token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify_jwt(token, kKey, expect_access()).error, JwtError::bad_signature);
  const auto valid = sign_jwt(access_claims(), kKey);
  // Truncated signature: wrong MAC length.
  EXPECT_FALSE(verify_jwt(valid.substr(0, valid.size() - 4), kKey, expect_access()).ok());
}

TEST(Jwt, NonCanonicalSignatureEncodingRejected) {
  const auto token = sign_jwt(access_claims(), kKey);
  // 32 bytes -> 43 chars whose last char carries 2 unused bits; setting
  // them gives another string that would decode to the same MAC.
  std::string altered = token;
  char& last = altered.back();
  const std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  last = alphabet[alphabet.find(last) | 1];
  if (altered != token) {
    EXPECT_EQ(verify_jwt(altered, kKey, expect_access()).error, JwtError::malformed);
  }
  EXPECT_EQ(verify_jwt(token + "=", kKey, expect_access()).error, JwtError::malformed);
}

TEST(Jwt, ExpiredRejected) {
  auto claims = access_claims();
  claims.iat = kNow - 1000;
  claims.exp = kNow - 31;  // beyond the 30 s leeway
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error, JwtError::expired);
  claims.exp = kNow - 10;  // within leeway
  EXPECT_TRUE(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).ok());
  auto strict = expect_access();
  strict.leeway_seconds = 0;
  claims.exp = kNow;  // exp is exclusive
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, strict).error, JwtError::expired);
}

TEST(Jwt, IssuedInFutureRejected) {
  auto claims = access_claims();
  claims.iat = kNow + 120;
  claims.exp = kNow + 1000;
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::issued_in_future);
}

TEST(Jwt, NotBeforeHonoured) {
  auto claims = access_claims();
  claims.extra = {{"nbf", kNow + 120}};
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::not_yet_valid);
  claims.extra = {{"nbf", "soon"}};
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::missing_claim);
}

TEST(Jwt, WrongAudienceRejected) {
  auto claims = access_claims();
  claims.aud = "other-service";
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::wrong_audience);
}

TEST(Jwt, AudienceArrayContainingExpectedAccepted) {
  auto payload = access_payload();
  payload["aud"] = {"other", "pgsecrets"};
  const auto result = verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access());
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.claims->aud, "pgsecrets");
  payload["aud"] = {"other", 7};
  EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
            JwtError::wrong_audience);
}

TEST(Jwt, WrongIssuerRejected) {
  auto claims = access_claims();
  claims.iss = "someone-else";
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::wrong_issuer);
}

TEST(Jwt, RefreshTokenNotAcceptedAsAccess) {
  auto claims = access_claims();
  claims.typ = std::string(kRefreshTokenType);
  EXPECT_EQ(verify_jwt(sign_jwt(claims, kKey), kKey, expect_access()).error,
            JwtError::wrong_token_type);
}

TEST(Jwt, AccessTokenNotAcceptedAsRefresh) {
  auto expectations = expect_access();
  expectations.typ = std::string(kRefreshTokenType);
  EXPECT_EQ(verify_jwt(sign_jwt(access_claims(), kKey), kKey, expectations).error,
            JwtError::wrong_token_type);
}

TEST(Jwt, RequiredClaimsEnforced) {
  for (const char* name : {"sub", "hid", "typ", "iss", "aud", "iat", "exp"}) {
    auto payload = access_payload();
    payload.erase(name);
    EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
              JwtError::missing_claim)
        << name;
  }
  auto payload = access_payload();
  payload["sub"] = "";
  EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
            JwtError::missing_claim);
  payload = access_payload();
  payload["exp"] = std::to_string(kNow + 900);
  EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
            JwtError::missing_claim);
  payload = access_payload();
  payload["exp"] = 1.7e9;
  EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
            JwtError::missing_claim);
  payload = access_payload();
  payload["hid"] = 42;
  EXPECT_EQ(verify_jwt(signed_token(kGoodHeader, payload), kKey, expect_access()).error,
            JwtError::missing_claim);
}

TEST(Jwt, NonObjectPayloadRejected) {
  const auto token = signed_token(kGoodHeader, nlohmann::json::array({1, 2, 3}));
  EXPECT_EQ(verify_jwt(token, kKey, expect_access()).error, JwtError::bad_payload);
}

TEST(Jwt, MalformedTokensRejectedWithoutThrowing) {
  const auto good = sign_jwt(access_claims(), kKey);
  const std::string inputs[] = {
      "",
      ".",
      "..",
      "abc",
      "a.b",
      "a..c",
      good + ".extra",
      good.substr(0, good.rfind('.')),
      good.substr(0, good.rfind('.') + 1),
      "!!!." + good.substr(good.find('.') + 1),
      std::string("\0\0\0", 3),
      "eyJhbGciOiJIUzI1NiJ9.e30.%%%",
  };
  for (const auto& input : inputs) {
    // Report the case number only: test output never carries token text.
    EXPECT_FALSE(verify_jwt(input, kKey, expect_access()).ok()) << "case #" << (&input - inputs);
    EXPECT_FALSE(verify_hs256_signature(input, kKey)) << "case #" << (&input - inputs);
  }
  EXPECT_EQ(verify_jwt(good + ".extra", kKey, expect_access()).error, JwtError::malformed);
}

TEST(Jwt, OversizedTokenRejected) {
  auto claims = access_claims();
  claims.extra = {{"padding", std::string(kMaxJwtBytes, 'x')}};
  const auto token = sign_jwt(claims, kKey);
  EXPECT_EQ(verify_jwt(token, kKey, expect_access()).error, JwtError::token_too_large);
  EXPECT_FALSE(verify_hs256_signature(token, kKey));
}

TEST(Jwt, ErrorNamesAreStable) {
  EXPECT_STREQ(to_string(JwtError::none), "none");
  EXPECT_STREQ(to_string(JwtError::wrong_token_type), "wrong_token_type");
}

TEST(Base64Url, RoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)).value(), bytes);
    bytes.push_back(static_cast<char>(i * 37 + 11));
  }
}

TEST(Base64Url, KnownVectorsAndStrictness) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_FALSE(base64url_decode("Zm8=").has_value());  // padding
  EXPECT_FALSE(base64url_decode("Zm+v").has_value());  // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm9").has_value());   // stray low bits
  EXPECT_FALSE(base64url_decode("Z").has_value());     // impossible length
  EXPECT_FALSE(base64url_decode("Zm 8").has_value());
  EXPECT_EQ(base64url_decode("").value(), "");
}

}  // namespace
}  // namespace secretsd
