// Typed reads of a stored value, as the reference's get_secret_int /
// get_secret_bool: every value is text, the type is how the reader takes it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace secrets_client {

// An optional '+' or '-' and decimal digits, within 32 bits; nothing else
// (no spaces, no "0x", no empty digits).
std::optional<std::int32_t> parse_int32(const std::string& text);

// "true" or "false" in any case.
std::optional<bool> parse_bool(const std::string& text);

// The value as `type` ("string", "int" or "bool") prints it: an int in
// canonical decimal, a bool lower-case. nullopt when it does not fit.
std::optional<std::string> typed_text(const std::string& value, const std::string& type);

}  // namespace secrets_client
