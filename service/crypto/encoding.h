// Text encodings of raw bytes. Decoders are strict on purpose: a token that
// decodes in two ways (padding, stray bits, mixed alphabets) is a token whose
// signature check can be sidestepped by re-encoding it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace secretsd {

// RFC 4648 section 5 alphabet, never padded.
std::string base64url_encode(std::string_view bytes);

// Rejects '=', characters outside the url-safe alphabet, impossible lengths
// (n % 4 == 1) and non-zero unused trailing bits (non-canonical encodings).
std::optional<std::string> base64url_decode(std::string_view text);

// Lower-case hex.
std::string hex_encode(std::string_view bytes);

// Accepts upper or lower case; rejects odd lengths and non-hex characters.
std::optional<std::string> hex_decode(std::string_view text);

bool is_hex(std::string_view text);

}  // namespace secretsd
