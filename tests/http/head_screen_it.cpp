// Request heads are screened as raw bytes before cpp-httplib parses them
// (service/http/head_screen.h): header values secretsd trusts are taken as
// sent, never percent-decoded or cut at a NUL, and a refused head gets 400
// and a closed connection. Oversized uploads always get to read their 413.
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "raw_http.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

std::string percent_encode_all(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    out += '%';
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

// A request that must never be answered: it follows a refused head on the
// same connection.
const std::string kPipelinedProbe = "GET /health?PIPELINED HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

struct HeadCase {
  std::string name;
  std::string request;  // a complete request, kept alive (no Connection: close)
};

class HeaderScreenTest : public SecretsdTest {};

// Each refusal: one 400 with the JSON error shape, then the server closes
// the connection (within 3 s; in practice at once), so the probe sent right
// behind it is never answered.
TEST_F(HeaderScreenTest, EachRefusedHeadGets400AndTheConnectionCloses) {
  TestUser u = register_user("header screen");
  const std::string key = admin_key();
  const std::string admin_target = "DELETE /api/v0/admin/nodes/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string secrets_post = "POST /api/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  const std::string get_secrets = "GET /api/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string bearer = "Authorization: Bearer " + u.access_token + "\r\n";
  const std::string body = R"({"key":"SCREENED","value":"x"})";  // 30 bytes
  ASSERT_EQ(body.size(), 30u);

  // The probes work: the admin key as sent is the admin's (404: no such
  // node), the user's token lists secrets, and '%' where no rule forbids it
  // (a Referer) is fine.
  {
    Socket s(secretsd().port());
    s.send_all(admin_target + "X-Admin-Key: " + key + "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(parse_response(s.read_all()).status, 404);
  }
  {
    Socket s(secretsd().port());
    s.send_all(get_secrets + bearer + "Referer: http://x/a%20b\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(parse_response(s.read_all()).status, 200);
  }

  const std::vector<HeadCase> cases = {
      // Percent-escapes where the grammar has none: httplib would decode them.
      {"Content-Length: %33%30 (30)", secrets_post + bearer + "Content-Length: %33%30\r\n\r\n" + body},
      {"Transfer-Encoding: %63hunked",
       secrets_post + bearer + "Transfer-Encoding: %63hunked\r\n\r\n1e\r\n" + body + "\r\n0\r\n\r\n"},
      {"Connection: %63lose", get_secrets + bearer + "Connection: %63lose\r\n\r\n"},
      {"admin key + %00JUNK", admin_target + "X-Admin-Key: " + key + "%00JUNK\r\n\r\n"},
      {"admin key fully %-encoded", admin_target + "X-Admin-Key: " + percent_encode_all(key) + "\r\n\r\n"},
      {"Bearer%20<jwt>", get_secrets + "Authorization: Bearer%20" + u.access_token + "\r\n\r\n"},
      {"%-escape inside the token", get_secrets + "Authorization: Bearer " + u.access_token + "%41\r\n\r\n"},
      {"X-API-Key with %3A", get_secrets + "X-API-Key: node%3A" + std::string(40, 'a') + "\r\n\r\n"},
      {"X-Jarvis-App-Key with %", get_secrets + "X-Jarvis-App-Id: a\r\nX-Jarvis-App-Key: b%62\r\n\r\n"},
      {"X-Household-Id with %", get_secrets + bearer + "X-Household-Id: " + percent_encode_all(u.household_id) + "\r\n\r\n"},
      // Control bytes.
      {"admin key + NUL + JUNK", admin_target + "X-Admin-Key: " + key + std::string(1, '\0') + "JUNK\r\n\r\n"},
      {"NUL in any header", get_secrets + bearer + "X-Note: a" + std::string(1, '\0') + "b\r\n\r\n"},
      {"\\x01 in any header", get_secrets + bearer + "X-Note: a\x01" "b\r\n\r\n"},
      {"DEL in any header", get_secrets + bearer + "X-Note: a\x7f" "b\r\n\r\n"},
      {"bare CR in a header", get_secrets + bearer + "X-Note: a\rb\r\n\r\n"},
      // Field-line syntax (RFC 9112 §5.1, §5.2).
      {"Transfer-Encoding : chunked",
       secrets_post + bearer + "Transfer-Encoding : chunked\r\n\r\n1e\r\n" + body + "\r\n0\r\n\r\n"},
      {"Content-Length\\t: 30", secrets_post + bearer + "Content-Length\t: 30\r\n\r\n" + body},
      {"obs-fold (SP)", get_secrets + "Authorization: Bearer\r\n " + u.access_token + "\r\n\r\n"},
      {"obs-fold (HTAB)", get_secrets + bearer + "X-Note: a\r\n\tb\r\n\r\n"},
      {"line without a colon", get_secrets + bearer + "X-Note a\r\n\r\n"},
      {"empty field name", get_secrets + bearer + ": a\r\n\r\n"},
      // One of each credential and framing header.
      {"two Authorization", get_secrets + bearer + bearer + "\r\n"},
      {"two X-Admin-Key", admin_target + "X-Admin-Key: " + key + "\r\nx-admin-key: " + key + "\r\n\r\n"},
      {"two X-API-Key", get_secrets + "X-API-Key: a:b\r\nX-API-Key: a:b\r\n\r\n"},
      {"two X-Jarvis-App-Id", get_secrets + "X-Jarvis-App-Id: a\r\nX-Jarvis-App-Id: a\r\nX-Jarvis-App-Key: b\r\n\r\n"},
      {"two X-Jarvis-App-Key", get_secrets + "X-Jarvis-App-Id: a\r\nX-Jarvis-App-Key: b\r\nX-Jarvis-App-Key: b\r\n\r\n"},
      {"two X-Household-Id",
       get_secrets + bearer + "X-Household-Id: " + u.household_id + "\r\nX-Household-Id: " + u.household_id + "\r\n\r\n"},
      {"two equal Content-Length", secrets_post + bearer + "Content-Length: 30\r\nContent-Length: 30\r\n\r\n" + body},
  };

  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Socket s(secretsd().port());
    s.send_all(c.request + kPipelinedProbe);
    const RawRead got = s.read_until_close(std::chrono::seconds(3));
    EXPECT_TRUE(got.closed) << "the connection stayed open";
    EXPECT_EQ(statuses_in(got.bytes), (std::vector<int>{400})) << got.bytes.substr(0, 160);
    const json error = json::parse(parse_response(got.bytes).body, nullptr, false);
    EXPECT_TRUE(error.is_object() && error.value("statusCode", 0) == 400 && error.contains("message") &&
                error["message"].is_string())
        << "not the JSON error shape";
  }

  // Nothing was written by any of them.
  auto listed = client().Get("/api/secrets/SCREENED", auth_header(u.access_token));
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 404);
}

// An upload far over SECRETSD_MAX_BODY_BYTES (64 KiB by default) whose
// client writes the whole body before reading, as curl does once it got
// "100 Continue": secretsd answers 413 at the cap and must keep reading (and
// dropping) the rest until the client is done, or the client's writes hit a
// reset and the 413 is never read. 200 in a row, each must go through.
TEST_F(HeaderScreenTest, EveryOversizedChunkedUploadReadsIts413) {
  TestUser u = register_user("oversized uploads");
  const std::string head = "POST /api/secrets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Authorization: Bearer " + u.access_token + "\r\n"
                           "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string body;
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'A') + "\r\n";  // 64 KiB chunks
  while (body.size() < (8u << 20)) body += chunk;                              // 8 MiB
  body += "0\r\n\r\n";

  int answered_413 = 0;
  int write_failed = 0;
  std::string first_failure;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    Socket s(secretsd().port());
    const bool sent = s.send_all(head) && s.send_all(body);
    const RawRead got = s.read_until_close(std::chrono::seconds(5));
    const RawResponse r = parse_response(got.bytes);
    if (!sent) ++write_failed;
    if (r.status == 413 && json::parse(r.body, nullptr, false).value("statusCode", 0) == 413) {
      ++answered_413;
    } else if (first_failure.empty()) {
      first_failure = "run " + std::to_string(i) + ": " + (sent ? "sent, " : "write failed, ") +
                      std::to_string(got.bytes.size()) + " bytes back: " + got.bytes.substr(0, 120);
    }
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  EXPECT_EQ(answered_413, 200) << first_failure;
  EXPECT_EQ(write_failed, 0) << "uploads cut off by a reset";
  std::cout << "[ measure  ] 200 oversized uploads (8 MiB) took " << took.count() << " ms\n";
}

}  // namespace
}  // namespace secretsd::it
