#include "http/head_screen.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cctype>

#include "http/ascii.h"

namespace secretsd::http {

namespace {

constexpr HeadRefusal refuse(std::string_view message) { return {400, message}; }

// RFC 9110 §5.6.2: tchar.
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(static_cast<char>(c)) != std::string_view::npos;
}

// Control bytes other than HTAB: NUL cuts httplib's C-string values, CR and
// LF inside a line would be a second line to some other parser.
bool is_forbidden_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ascii_iequals(s.substr(0, prefix.size()), prefix);
}

// Headers that frame the request, pick the connection's fate or carry a
// credential: their values are compared or parsed as sent, so httplib's
// percent-decoding must have nothing to decode.
constexpr std::array<std::string_view, 9> kNoPercent = {
    "Content-Length", "Transfer-Encoding", "Connection", "Expect",       "Content-Encoding",
    "Authorization",  "X-Admin-Key",       "X-API-Key",  "X-Household-Id"};
constexpr std::string_view kNoPercentPrefix = "X-Jarvis-";

// At most one of each: a second credential or framing header leaves it to
// each reader which one counts.
constexpr std::array<std::string_view, 9> kSingletons = {
    "Host",          "Content-Length",   "Transfer-Encoding", "Authorization",
    "X-Admin-Key",   "X-API-Key",       "X-Jarvis-App-Id",   "X-Jarvis-App-Key",
    "X-Household-Id"};

bool takes_no_percent(std::string_view name) {
  return istarts_with(name, kNoPercentPrefix) ||
         std::any_of(kNoPercent.begin(), kNoPercent.end(),
                     [&](std::string_view n) { return ascii_iequals(n, name); });
}

// Index into kSingletons, or npos.
std::size_t singleton_index(std::string_view name) {
  for (std::size_t i = 0; i < kSingletons.size(); ++i) {
    if (ascii_iequals(kSingletons[i], name)) return i;
  }
  return std::string_view::npos;
}

std::optional<HeadRefusal> screen_request_line(std::string_view line) {
  if (line.empty()) return refuse("Malformed request line");
  for (unsigned char c : line) {
    if (c < 0x20 || c == 0x7f) return refuse("Control characters in the request line");
  }
  return std::nullopt;
}

std::optional<HeadRefusal> screen_field_line(std::string_view line,
                                             std::bitset<kSingletons.size()>& seen) {
  if (line.front() == ' ' || line.front() == '\t') return refuse("Folded header lines are not accepted");
  const auto colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return refuse("Malformed header line");
  const std::string_view name = line.substr(0, colon);
  const std::string_view value = line.substr(colon + 1);
  if (name.back() == ' ' || name.back() == '\t') {
    return refuse("Whitespace between a header name and its colon is not accepted");
  }
  if (!std::all_of(name.begin(), name.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); })) {
    return refuse("Malformed header name");
  }
  if (std::any_of(value.begin(), value.end(),
                  [](char c) { return is_forbidden_control(static_cast<unsigned char>(c)); })) {
    return refuse("Control characters in a header value");
  }
  if (value.find('%') != std::string_view::npos && takes_no_percent(name)) {
    return refuse("Percent-escapes are not accepted in this header");
  }
  const std::size_t single = singleton_index(name);
  if (single != std::string_view::npos) {
    if (seen.test(single)) return refuse("Repeated header");
    seen.set(single);
  }
  return std::nullopt;
}

}  // namespace

HeadRefusal head_too_large() { return {431, "Request header fields too large"}; }

std::optional<HeadRefusal> screen_head(std::string_view head) {
  std::bitset<kSingletons.size()> seen;
  bool first = true;
  while (!head.empty()) {
    const auto lf = head.find('\n');
    if (lf == std::string_view::npos) break;
    if (lf == 0 || head[lf - 1] != '\r') {
      return refuse("Header lines must end in CRLF");
    }
    const std::string_view line = head.substr(0, lf - 1);
    head.remove_prefix(lf + 1);
    // A bare CR inside a line is caught below as a control byte.
    auto refusal = first ? screen_request_line(line)
                         : line.empty() ? std::nullopt : screen_field_line(line, seen);
    if (refusal) return refusal;
    if (!first && line.empty()) return std::nullopt;  // the blank line ends the head
    first = false;
  }
  return refuse("Malformed request head");  // no blank line: the reader stopped early
}

}  // namespace secretsd::http
