// The one grammar a request head must follow before httplib 0.11.4 parses
// it. httplib is lenient in ways that change what a header means:
// - it percent-decodes every header value ("Content-Length: %32%38" frames
//   28 bytes, "Transfer-Encoding: %63hunked" is chunked, a %-encoded admin
//   key is the admin key);
// - its get_header_value() returns a C string, so "key\0JUNK" reads as "key";
// - it keeps "Name : value" under the name "Name " and an obs-folded line
//   under a name starting with a space, and drops a line without a colon.
// The connection loop reads a whole head, runs screen_head() over its raw
// bytes and answers a refusal itself, so httplib only ever parses heads for
// which its decoding is the identity on every header whose value secretsd
// trusts: those values may not hold '%' (the only byte decode_url changes;
// it is called with convert_plus_to_space = false) nor NUL (the only byte
// that cuts a C string). Values are otherwise exactly the bytes sent, minus
// the optional whitespace around them (RFC 9112 §5.1), which httplib trims.
#pragma once

#include <optional>
#include <string_view>

namespace secretsd::http {

struct HeadRefusal {
  int status;                // 400, or 431 for a head over the cap
  std::string_view message;  // fixed text: never echoes the request
};

// `head` is a request head as received: the request line and the header
// lines, each ended by CRLF, then the blank line; or, when the reader met a
// line ended by a bare LF, everything up to and including that LF (refused).
// Refuses (400):
// - a line not ended by CRLF;
// - control bytes (0x00-0x1F except HTAB, and 0x7F) anywhere in the head;
// - an obs-folded line (starting with SP or HTAB), a line without a colon,
//   an empty field name or one with bytes outside RFC 9110's token
//   characters, whitespace between a field name and its colon among them;
// - '%' in the value of Content-Length, Transfer-Encoding, Connection,
//   Expect, Content-Encoding, Authorization, X-Admin-Key, X-API-Key,
//   X-Household-Id and any X-Jarvis-* header: none of their grammars uses
//   it, and httplib would decode it;
// - a second Host, Content-Length, Transfer-Encoding, Authorization,
//   X-Admin-Key, X-API-Key, X-Jarvis-App-Id, X-Jarvis-App-Key or
//   X-Household-Id header.
std::optional<HeadRefusal> screen_head(std::string_view head);

// The refusal for a head that outgrew its cap before its blank line.
HeadRefusal head_too_large();

}  // namespace secretsd::http
