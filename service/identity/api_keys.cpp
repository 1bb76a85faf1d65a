#include "identity/api_keys.h"

namespace secretsd::identity {
namespace {

bool is_visible_ascii(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

}  // namespace

std::optional<NodeApiKey> parse_node_api_key(std::string_view header_value) {
  if (header_value.empty() || header_value.size() > kMaxNodeApiKeyHeaderBytes) {
    return std::nullopt;
  }
  if (!is_visible_ascii(header_value)) return std::nullopt;
  const auto colon = header_value.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  NodeApiKey parsed{std::string(header_value.substr(0, colon)),
                    std::string(header_value.substr(colon + 1))};
  if (parsed.node_id.empty() || parsed.api_key.empty()) return std::nullopt;
  return parsed;
}

}  // namespace secretsd::identity
