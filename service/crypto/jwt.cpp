#include "crypto/jwt.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "crypto/encoding.h"
#include "crypto/hmac.h"

namespace secretsd {
namespace {

using nlohmann::json;

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

struct TokenParts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;  // "header.payload", what the MAC covers
};

std::optional<TokenParts> split_token(std::string_view token) {
  const auto first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const auto second = token.find('.', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  if (token.find('.', second + 1) != std::string_view::npos) return std::nullopt;
  TokenParts parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                   token.substr(second + 1), token.substr(0, second)};
  if (parts.header.empty() || parts.payload.empty() || parts.signature.empty()) {
    return std::nullopt;
  }
  return parts;
}

std::string_view as_chars(const Sha256Mac& mac) {
  return {reinterpret_cast<const char*>(mac.data()), mac.size()};
}

JwtError check_signature(const TokenParts& parts, std::string_view key) {
  const auto given = base64url_decode(parts.signature);
  if (!given) return JwtError::malformed;
  if (given->size() != Sha256Mac{}.size()) return JwtError::bad_signature;
  Sha256Mac given_mac{};
  std::copy(given->begin(), given->end(), given_mac.begin());
  const bool equal = mac_equal(hmac_sha256(key, parts.signing_input), given_mac);
  return equal ? JwtError::none : JwtError::bad_signature;
}

std::optional<json> decode_json_object(std::string_view encoded) {
  const auto text = base64url_decode(encoded);
  if (!text) return std::nullopt;
  json value = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!value.is_object()) return std::nullopt;
  return value;
}

JwtError check_header(const json& header) {
  // "crit" names extensions the verifier must understand; we understand none.
  if (header.contains("crit")) return JwtError::bad_header;
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get<std::string>() != "HS256") {
    return JwtError::unsupported_algorithm;
  }
  return JwtError::none;
}

std::optional<std::string> string_member(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

std::optional<std::int64_t> integer_member(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return std::nullopt;
    }
    return static_cast<std::int64_t>(value);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  return std::nullopt;  // floats and strings are not accepted as NumericDate
}

bool audience_matches(const json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get<std::string>() == expected;
  if (!aud.is_array()) return false;
  for (const auto& entry : aud) {
    if (entry.is_string() && entry.get<std::string>() == expected) return true;
  }
  return false;
}

bool is_registered_claim(const std::string& name) {
  static constexpr std::string_view kNames[] = {"sub", "hid",       "typ", "iss",
                                                "aud", "jti",       "iat", "exp"};
  for (auto registered : kNames) {
    if (name == registered) return true;
  }
  return false;
}

json payload_for(const JwtClaims& claims) {
  if (!claims.extra.is_object() && !claims.extra.is_null()) {
    throw std::invalid_argument("JwtClaims::extra must be a JSON object");
  }
  json payload = claims.extra.is_object() ? claims.extra : json::object();
  payload["sub"] = claims.sub;
  payload["hid"] = claims.household;
  payload["typ"] = claims.typ;
  if (!claims.iss.empty()) payload["iss"] = claims.iss;
  if (!claims.aud.empty()) payload["aud"] = claims.aud;
  if (!claims.jti.empty()) payload["jti"] = claims.jti;
  payload["iat"] = claims.iat;
  payload["exp"] = claims.exp;
  return payload;
}

// Reads every required claim; std::nullopt if one is missing or mistyped.
std::optional<JwtClaims> read_claims(const json& payload) {
  JwtClaims claims;
  auto sub = string_member(payload, "sub");
  auto household = string_member(payload, "hid");
  auto typ = string_member(payload, "typ");
  auto iss = string_member(payload, "iss");
  auto iat = integer_member(payload, "iat");
  auto exp = integer_member(payload, "exp");
  if (!sub || sub->empty() || !household || !typ || !iss || !iat || !exp) return std::nullopt;
  if (!payload.contains("aud")) return std::nullopt;
  if (payload.contains("jti")) {
    auto jti = string_member(payload, "jti");
    if (!jti) return std::nullopt;
    claims.jti = std::move(*jti);
  }
  if (payload.contains("nbf") && !integer_member(payload, "nbf")) return std::nullopt;
  claims.sub = std::move(*sub);
  claims.household = std::move(*household);
  claims.typ = std::move(*typ);
  claims.iss = std::move(*iss);
  claims.iat = *iat;
  claims.exp = *exp;
  for (const auto& [name, value] : payload.items()) {
    if (!is_registered_claim(name)) claims.extra[name] = value;
  }
  return claims;
}

JwtError check_time(const json& payload, const JwtClaims& claims, const JwtExpectations& expected) {
  const std::int64_t leeway = expected.leeway_seconds > 0 ? expected.leeway_seconds : 0;
  if (expected.now - leeway >= claims.exp) return JwtError::expired;
  if (claims.iat > expected.now + leeway) return JwtError::issued_in_future;
  if (const auto nbf = integer_member(payload, "nbf"); nbf && *nbf > expected.now + leeway) {
    return JwtError::not_yet_valid;
  }
  return JwtError::none;
}

JwtVerifyResult fail(JwtError error) { return JwtVerifyResult{error, std::nullopt}; }

JwtVerifyResult verify_parts(const TokenParts& parts, std::string_view key,
                             const JwtExpectations& expected) {
  if (const auto error = check_signature(parts, key); error != JwtError::none) return fail(error);

  const auto header = decode_json_object(parts.header);
  if (!header) return fail(JwtError::bad_header);
  if (const auto error = check_header(*header); error != JwtError::none) return fail(error);

  const auto payload = decode_json_object(parts.payload);
  if (!payload) return fail(JwtError::bad_payload);
  auto claims = read_claims(*payload);
  if (!claims) return fail(JwtError::missing_claim);

  if (claims->typ != expected.typ) return fail(JwtError::wrong_token_type);
  if (claims->iss != expected.iss) return fail(JwtError::wrong_issuer);
  if (!audience_matches(payload->at("aud"), expected.aud)) return fail(JwtError::wrong_audience);
  claims->aud = expected.aud;
  if (const auto error = check_time(*payload, *claims, expected); error != JwtError::none) {
    return fail(error);
  }
  return JwtVerifyResult{JwtError::none, std::move(claims)};
}

}  // namespace

const char* to_string(JwtError error) {
  switch (error) {
    case JwtError::none: return "none";
    case JwtError::token_too_large: return "token_too_large";
    case JwtError::malformed: return "malformed";
    case JwtError::bad_signature: return "bad_signature";
    case JwtError::bad_header: return "bad_header";
    case JwtError::unsupported_algorithm: return "unsupported_algorithm";
    case JwtError::bad_payload: return "bad_payload";
    case JwtError::missing_claim: return "missing_claim";
    case JwtError::wrong_token_type: return "wrong_token_type";
    case JwtError::wrong_issuer: return "wrong_issuer";
    case JwtError::wrong_audience: return "wrong_audience";
    case JwtError::expired: return "expired";
    case JwtError::issued_in_future: return "issued_in_future";
    case JwtError::not_yet_valid: return "not_yet_valid";
    case JwtError::invalid_key: return "invalid_key";
    case JwtError::internal_error: return "internal_error";
  }
  return "internal_error";
}

std::string sign_jwt(const JwtClaims& claims, std::string_view key) {
  if (key.empty()) throw std::invalid_argument("JWT signing key must not be empty");
  std::string payload_text;
  try {
    payload_text = payload_for(claims).dump();
  } catch (const json::exception&) {
    throw std::invalid_argument("JWT claims are not valid UTF-8");
  }
  std::string token = base64url_encode(kHeader);
  token += '.';
  token += base64url_encode(payload_text);
  const auto mac = hmac_sha256(key, token);
  token += '.';
  token += base64url_encode(as_chars(mac));
  return token;
}

JwtVerifyResult verify_jwt(std::string_view token, std::string_view key,
                           const JwtExpectations& expected) noexcept {
  try {
    if (key.empty()) return fail(JwtError::invalid_key);
    if (token.size() > kMaxJwtBytes) return fail(JwtError::token_too_large);
    const auto parts = split_token(token);
    if (!parts) return fail(JwtError::malformed);
    return verify_parts(*parts, key, expected);
  } catch (...) {
    return fail(JwtError::internal_error);
  }
}

bool verify_hs256_signature(std::string_view token, std::string_view key) noexcept {
  try {
    if (key.empty() || token.size() > kMaxJwtBytes) return false;
    const auto parts = split_token(token);
    return parts && check_signature(*parts, key) == JwtError::none;
  } catch (...) {
    return false;
  }
}

}  // namespace secretsd
