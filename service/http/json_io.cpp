#include "http/json_io.h"

#include <httplib.h>

namespace secretsd::http {

void json_response(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  // replace: a handler that somehow put bad bytes in must not turn a
  // response into an exception (and the exception into a 500).
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void error_response(httplib::Response& res, int status, std::string_view message) {
  // ordered_json: the reference documents statusCode first.
  nlohmann::ordered_json body = {{"statusCode", status}, {"message", std::string(message)}};
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

std::string_view default_message(int status) {
  switch (status) {
    case 400: return "Bad request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 405: return "Method not allowed";
    case 408: return "Request timeout";
    case 409: return "Conflict";
    case 411: return "Length required";
    case 413: return "Payload too large";
    case 414: return "URI too long";
    case 415: return "Unsupported media type";
    case 416: return "Range not satisfiable";
    case 422: return "Unprocessable entity";
    case 429: return "Too many requests";
    case 500: return "Internal server error";
    case 501: return "Not implemented";
    case 503: return "Service unavailable";
    default: return status >= 500 ? "Server error" : "Request error";
  }
}

namespace {

// Number of continuation bytes a lead byte announces, or -1 if invalid.
int utf8_tail_length(unsigned char lead) {
  if (lead < 0x80) return 0;
  if (lead >= 0xC2 && lead <= 0xDF) return 1;
  if (lead >= 0xE0 && lead <= 0xEF) return 2;
  if (lead >= 0xF0 && lead <= 0xF4) return 3;
  return -1;  // continuation byte, overlong C0/C1, or > U+10FFFF
}

// The second byte's range is what rules out overlongs, surrogates and
// code points above U+10FFFF for the 3- and 4-byte forms.
bool second_byte_ok(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

bool is_continuation(unsigned char b) { return b >= 0x80 && b <= 0xBF; }

bool holds_nul(const std::string& s) { return s.find('\0') != std::string::npos; }

// Depth is already bounded by the parser callback, so recursion is safe.
bool strings_are_storable(const nlohmann::json& j) {
  if (j.is_string()) return !holds_nul(j.get_ref<const std::string&>());
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      if (holds_nul(key) || !strings_are_storable(value)) return false;
    }
  }
  if (j.is_array()) {
    for (const auto& value : j) {
      if (!strings_are_storable(value)) return false;
    }
  }
  return true;
}

}  // namespace

bool is_printable_utf8(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return is_valid_utf8(s);
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto lead = static_cast<unsigned char>(s[i]);
    int tail = utf8_tail_length(lead);
    if (tail < 0) return false;
    if (s.size() - i <= static_cast<size_t>(tail)) return false;  // truncated sequence
    if (tail > 0 && !second_byte_ok(lead, static_cast<unsigned char>(s[i + 1]))) return false;
    for (int k = 2; k <= tail; ++k) {
      if (!is_continuation(static_cast<unsigned char>(s[i + k]))) return false;
    }
    i += static_cast<size_t>(tail) + 1;
  }
  return true;
}

std::optional<nlohmann::json> parse_json_object(std::string_view body) {
  if (!is_valid_utf8(body)) return std::nullopt;
  bool too_deep = false;
  auto limit_depth = [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    bool opens = event == nlohmann::json::parse_event_t::object_start ||
                 event == nlohmann::json::parse_event_t::array_start;
    if (opens && depth >= kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), limit_depth,
                                             /*allow_exceptions=*/false);
  if (too_deep || doc.is_discarded() || !doc.is_object()) return std::nullopt;
  if (!strings_are_storable(doc)) return std::nullopt;
  return doc;
}

namespace {

// Shared lookup: Missing / Null, or the element for a type check.
template <typename T>
const nlohmann::json* find_field(const nlohmann::json& obj, const std::string& key,
                                 FieldResult<T>& out) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    out.status = FieldStatus::Missing;
    return nullptr;
  }
  if (it->is_null()) {
    out.status = FieldStatus::Null;
    return nullptr;
  }
  out.status = FieldStatus::WrongType;
  return &*it;
}

}  // namespace

FieldResult<std::string> get_string_field(const nlohmann::json& obj, const std::string& key) {
  FieldResult<std::string> out;
  const auto* v = find_field(obj, key, out);
  if (v != nullptr && v->is_string()) {
    out.status = FieldStatus::Ok;
    out.value = v->get<std::string>();
  }
  return out;
}

FieldResult<bool> get_bool_field(const nlohmann::json& obj, const std::string& key) {
  FieldResult<bool> out;
  const auto* v = find_field(obj, key, out);
  if (v != nullptr && v->is_boolean()) {
    out.status = FieldStatus::Ok;
    out.value = v->get<bool>();
  }
  return out;
}

FieldResult<std::int64_t> get_int_field(const nlohmann::json& obj, const std::string& key) {
  FieldResult<std::int64_t> out;
  const auto* v = find_field(obj, key, out);
  if (v != nullptr && v->is_number_integer()) {
    // Unsigned values above INT64_MAX are parsed as number_unsigned.
    if (v->is_number_unsigned() &&
        v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return out;
    }
    out.status = FieldStatus::Ok;
    out.value = v->get<std::int64_t>();
  }
  return out;
}

}  // namespace secretsd::http
