// JWT parsing and verification (service/crypto/jwt.cpp).
//
// First byte even: the input is a whole token, verified as it comes (it can
// only pass by forging HMAC-SHA256). Odd: the input is "header.payload",
// signed here with the key, so the header and claim parsing behind the
// signature check is reached too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/encoding.h"
#include "crypto/hmac.h"
#include "crypto/jwt.h"
#include "crypto/sodium_init.h"

using namespace secretsd;

namespace {
constexpr std::string_view kKey = "fuzz-signing-key-0123456789abcdef";

std::string sign_for_fuzzing(const std::string& signing_input, std::string_view key) {
  const auto mac = hmac_sha256(key, signing_input);
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ensure_sodium_initialized();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string token(reinterpret_cast<const char*>(data) + 1, size - 1);
  const JwtExpectations expected{"secretsd", "pgsecrets", std::string(kAccessTokenType),
                                 1700000000, 30};
  if (data[0] & 1) {
    token += "." + sign_for_fuzzing(token, kKey);
  }
  JwtVerifyResult result = verify_jwt(token, kKey, expected);
  (void)to_string(result.error);
  if (result.ok() != result.claims.has_value()) std::abort();
  if (result.ok()) {
    if (!verify_hs256_signature(token, kKey)) std::abort();
    if (result.claims->sub.empty() || result.claims->typ != kAccessTokenType) std::abort();
    // What verify accepted, sign must be able to write again.
    try {
      (void)sign_jwt(*result.claims, kKey);
    } catch (const std::invalid_argument&) {
      std::abort();
    }
  } else if (!(data[0] & 1) && result.error != JwtError::malformed &&
             result.error != JwtError::token_too_large && result.error != JwtError::bad_signature) {
    std::abort();  // an unsigned input got past the signature check
  }
  (void)verify_hs256_signature(token, "");
  return 0;
}
