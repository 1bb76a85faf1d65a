// screen_head(): the grammar every request head must pass before httplib
// parses it (the integration tests send the same cases to a real secretsd).
#include <string>

#include <gtest/gtest.h>

#include "http/head_screen.h"

namespace secretsd::http {
namespace {

std::string head(const std::string& fields) {
  return "GET /api/secrets HTTP/1.1\r\nHost: t\r\n" + fields + "\r\n";
}

int status_of(const std::string& raw) {
  auto refusal = screen_head(raw);
  return refusal ? refusal->status : 0;
}

TEST(HeadScreen, AcceptsOrdinaryHeads) {
  EXPECT_EQ(status_of(head("")), 0);
  EXPECT_EQ(status_of(head("Authorization: Bearer abc.def-_.ghi\r\n")), 0);
  EXPECT_EQ(status_of(head("Authorization: \r\nX-Household-Id:\r\n")), 0);  // empty values: no credential
  EXPECT_EQ(status_of(head("X-Admin-Key: k\r\nX-Note: tab\there\r\nReferer: http://x/a%20b\r\n")), 0);
  EXPECT_EQ(status_of(head("Cookie: a=1\r\nCookie: b=2\r\nConnection: keep-alive\r\nConnection: TE\r\n")), 0);
  EXPECT_EQ(status_of(head("X-Note: caf\xc3\xa9\r\n")), 0);  // obs-text is not a control byte
}

TEST(HeadScreen, RefusesPercentWhereNoGrammarHasIt) {
  for (const char* name : {"Content-Length", "transfer-encoding", "Connection", "Expect", "Content-Encoding",
                           "Authorization", "X-Admin-Key", "x-api-key", "X-Household-Id", "X-Jarvis-App-Id",
                           "X-Jarvis-App-Key", "X-Jarvis-Anything"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(status_of(head(std::string(name) + ": a%41\r\n")), 400);
  }
}

TEST(HeadScreen, RefusesControlBytesFoldsAndBadNames) {
  EXPECT_EQ(status_of(head(std::string("X-Admin-Key: k") + '\0' + "JUNK\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note: a\x01\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note: a\x7f\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note: a\rb\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note: a\r\n b\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note: a\r\n\tb\r\n")), 400);
  EXPECT_EQ(status_of(head("Transfer-Encoding : chunked\r\n")), 400);
  EXPECT_EQ(status_of(head("Content-Length\t: 1\r\n")), 400);
  EXPECT_EQ(status_of(head("X Note: a\r\n")), 400);
  EXPECT_EQ(status_of(head("X-Note a\r\n")), 400);
  EXPECT_EQ(status_of(head(": a\r\n")), 400);
  EXPECT_EQ(status_of("GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n"), 400);
  EXPECT_EQ(status_of("\r\nGET / HTTP/1.1\r\n\r\n"), 400);
}

TEST(HeadScreen, RefusesBareLineFeeds) {
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nContent-Length: 5\n"), 400);
  EXPECT_EQ(status_of("GET / HTTP/1.1\n"), 400);
}

TEST(HeadScreen, RefusesRepeatedCredentialAndFramingHeaders) {
  for (const char* name : {"Host", "Content-Length", "Transfer-Encoding", "Authorization", "X-Admin-Key",
                           "X-API-Key", "X-Jarvis-App-Id", "X-Jarvis-App-Key", "X-Household-Id"}) {
    SCOPED_TRACE(name);
    const std::string line = std::string(name) + ": v\r\n";
    EXPECT_EQ(status_of("GET / HTTP/1.1\r\n" + line + line + "\r\n"), 400);
  }
  EXPECT_EQ(status_of(head("authorization: Bearer a\r\nAUTHORIZATION: Bearer a\r\n")), 400);
}

}  // namespace
}  // namespace secretsd::http
