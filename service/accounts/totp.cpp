#include "accounts/totp.h"

#include <oath.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "crypto/sodium_init.h"

namespace secretsd::accounts::totp {
namespace {

// liboath wants oath_init() once per process before any other call.
void ensure_oath_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (oath_init() != OATH_OK) throw std::runtime_error("liboath failed to initialise");
  });
}

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 percent-encoding of everything but unreserved characters (and
// '@' where asked: it is a valid path character, and apps show it as is).
std::string percent_encode(std::string_view text, bool keep_at) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_at && c == '@')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

bool is_six_digits(std::string_view code) {
  if (code.size() != kDigits) return false;
  for (const char c : code) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// liboath's comparison hook: 0 means "equal". CRYPTO_memcmp instead of the
// default strcmp, so the time taken says nothing about how many leading
// digits were right. Both are exactly kDigits long (checked before).
int constant_time_compare(void* presented, const char* candidate) {
  return CRYPTO_memcmp(presented, candidate, kDigits) == 0 ? 0 : 1;
}

}  // namespace

std::string new_secret() {
  ensure_sodium_initialized();
  std::string secret(kSecretBytes, '\0');
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string base32_encode(std::string_view bytes) {
  ensure_oath_initialized();
  char* raw = nullptr;
  std::size_t length = 0;
  if (oath_base32_encode(bytes.data(), bytes.size(), &raw, &length) != OATH_OK) {
    throw std::runtime_error("base32 encoding failed");
  }
  const std::unique_ptr<char, FreeDeleter> owned(raw);
  std::string encoded(raw, length);
  while (!encoded.empty() && encoded.back() == '=') encoded.pop_back();
  return encoded;
}

std::string otpauth_uri(std::string_view secret, std::string_view account_email) {
  std::string uri = "otpauth://totp/";
  uri += percent_encode(kIssuer, false);
  uri += ':';
  uri += percent_encode(account_email, true);
  uri += "?secret=" + base32_encode(secret);
  uri += "&issuer=" + percent_encode(kIssuer, false);
  uri += "&algorithm=SHA1&digits=" + std::to_string(kDigits) +
         "&period=" + std::to_string(kStepSeconds);
  return uri;
}

std::int64_t time_step(std::time_t now) {
  const auto t = static_cast<std::int64_t>(now);
  const auto step = static_cast<std::int64_t>(kStepSeconds);
  return t >= 0 ? t / step : -((-t + step - 1) / step);
}

std::string code_at(std::string_view secret, std::time_t now) {
  ensure_oath_initialized();
  char code[kDigits + 1] = {};
  if (oath_totp_generate2(secret.data(), secret.size(), now, kStepSeconds,
                          OATH_TOTP_DEFAULT_START_TIME, kDigits, 0, code) != OATH_OK) {
    throw std::runtime_error("TOTP generation failed");
  }
  return std::string(code, kDigits);
}

std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::time_t now) {
  if (!is_six_digits(code)) return std::nullopt;
  ensure_oath_initialized();
  std::string presented(code);
  int position = 0;
  std::uint64_t counter = 0;
  const int rc = oath_totp_validate4_callback(
      secret.data(), secret.size(), now, kStepSeconds, OATH_TOTP_DEFAULT_START_TIME, kDigits,
      kWindowSteps, &position, &counter, 0, constant_time_compare, presented.data());
  if (rc < 0) return std::nullopt;  // OATH_INVALID_OTP, or an error: no match either way
  return static_cast<std::int64_t>(counter);
}

}  // namespace secretsd::accounts::totp
