// Node API keys as presented in `X-API-Key: node_id:api_key`. The key
// itself is a random token stored as a keyed hash (crypto/keyed_hash.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace secretsd::identity {

inline constexpr std::size_t kMaxNodeApiKeyHeaderBytes = 512;

struct NodeApiKey {
  std::string node_id;
  std::string api_key;
};

// Parses `X-API-Key: node_id:api_key`. Splits at the first ':' (node ids never
// contain one; the key may). Rejects: empty input or parts, more than
// kMaxNodeApiKeyHeaderBytes, and any byte outside printable ASCII 0x21-0x7E
// (controls, spaces, non-ASCII).
std::optional<NodeApiKey> parse_node_api_key(std::string_view header_value);

}  // namespace secretsd::identity
