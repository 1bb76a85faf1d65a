// Hostile and malformed requests to /api/secrets: every one gets a 4xx with
// the JSON error shape, and none changes the database. Requests are written
// to a raw socket (raw_http.h) so that no client library normalises paths,
// headers or framing on the way.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "raw_http.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;

// One request on its own connection ("Connection: close" added).
RawResponse raw_request(const std::string& method, const std::string& target,
                        const std::vector<std::string>& headers, const std::string& body = "",
                        bool send_length = true) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (send_length && (!body.empty() || method == "POST" || method == "PUT")) {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  Socket s(secretsd().port());
  s.send_all(req);
  return parse_response(s.read_all());
}

// A chunked body of `total` bytes in 8 KiB chunks.
RawResponse chunked_request(const std::string& target, const std::vector<std::string>& headers,
                            std::size_t total) {
  std::string req = "POST " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  req += "\r\n";
  Socket s(secretsd().port());
  s.send_all(req);
  const std::string chunk(8192, 'A');
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk.size());
  for (std::size_t sent = 0; sent < total; sent += chunk.size()) {
    s.send_all(size_line + chunk + "\r\n");
  }
  s.send_all("0\r\n\r\n");
  return parse_response(s.read_all());
}

struct Case {
  std::string name;
  std::string method;
  std::string target;
  std::vector<std::string> headers;  // besides the default credentials, if any
  std::string body;
  int status;                 // expected status
  bool authenticated = true;  // add the user's Authorization header
};

class MalformedRequestTest : public SecretsdTest {};

TEST_F(MalformedRequestTest, EveryMalformedRequestGets4xxJsonAndChangesNothing) {
  TestUser u = register_user("malformed");
  AppCredentials app = create_app({u.household_id});
  const std::string bearer = "Authorization: Bearer " + u.access_token;
  const std::string app_id = "X-Jarvis-App-Id: " + app.app_id;
  const std::string app_key = "X-Jarvis-App-Key: " + app.app_key;
  // An existing secret, so that hostile writes have something to hit.
  {
    auto c = client();
    auto res = secrets_api::post_json(c, "/api/secrets", {{"key", "EXISTING"}, {"value", "keep-me"}},
                                      auth_header(u.access_token));
    ASSERT_EQ(res->status, 200) << res->body;
  }

  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i) deep += "}";

  const std::vector<Case> cases = {
      // Bodies that are not the documented object.
      {"not json", "POST", "/api/secrets", {}, "key=A&value=b", 400},
      {"array body", "POST", "/api/secrets", {}, "[{\"key\":\"A\",\"value\":\"b\"}]", 400},
      {"string body", "POST", "/api/secrets", {}, "\"A\"", 400},
      {"empty body", "POST", "/api/secrets", {}, "", 400},
      {"truncated json", "POST", "/api/secrets", {}, "{\"key\":\"A\",", 400},
      {"number key", "POST", "/api/secrets", {}, R"({"key":123,"value":"b"})", 400},
      {"array value", "POST", "/api/secrets", {}, R"({"key":"ARR","value":["b"]})", 400},
      {"object value", "POST", "/api/secrets", {}, R"({"key":"OBJ","value":{"b":1}})", 400},
      {"null value", "POST", "/api/secrets", {}, R"({"key":"NUL","value":null})", 400},
      {"bool value", "POST", "/api/secrets", {}, R"({"key":"BOOL","value":true})", 400},
      {"number value", "POST", "/api/secrets", {}, R"({"key":"NUM","value":42})", 400},
      {"missing value", "POST", "/api/secrets", {}, R"({"key":"MISSING_VALUE"})", 400},
      {"missing key", "POST", "/api/secrets", {}, R"({"value":"b"})", 400},
      {"number description", "POST", "/api/secrets", {}, R"({"key":"D","value":"b","description":5})", 400},
      {"unknown scope", "POST", "/api/secrets", {}, R"({"key":"S","value":"b","scope":"global"})", 400},
      {"node scope without node", "POST", "/api/secrets", {}, R"({"key":"S","value":"b","scope":"node"})", 400},
      {"empty node id", "POST", "/api/secrets", {}, R"({"key":"S","value":"b","node_id":""})", 400},
      {"control char node id", "POST", "/api/secrets", {}, R"({"key":"S","value":"b","node_id":"a\nb"})", 400},
      {"query/body scope clash", "POST", "/api/secrets?scope=node&node_id=x", {}, R"({"key":"S","value":"b","scope":"integration"})", 400},
      {"unknown value type", "POST", "/api/secrets", {}, R"({"key":"T","value":"b","value_type":"float"})", 400},
      {"int type, text value", "POST", "/api/secrets", {}, R"({"key":"T","value":"b","value_type":"int"})", 400},
      {"sql in key", "POST", "/api/secrets", {}, R"({"key":"KEY'; DROP TABLE secrets.secrets; --","value":"b"})", 400},
      {"unicode key", "POST", "/api/secrets", {}, R"({"key":"ÜBER","value":"b"})", 400},
      {"long key", "POST", "/api/secrets", {}, "{\"key\":\"" + std::string(300, 'A') + "\",\"value\":\"b\"}", 400},
      {"NUL in value", "POST", "/api/secrets", {}, R"({"key":"Z","value":"a\u0000b"})", 400},
      {"invalid utf-8", "POST", "/api/secrets", {}, "{\"key\":\"U\",\"value\":\"\xff\xfe\"}", 400},
      {"deep nesting", "POST", "/api/secrets", {}, deep, 400},
      {"duplicate", "POST", "/api/secrets", {}, R"({"key":"EXISTING","value":"overwrite"})", 409},
      {"oversized body", "POST", "/api/secrets", {}, "{\"key\":\"BIG\",\"value\":\"" + std::string(70000, 'x') + "\"}", 413},
      {"gzip body", "POST", "/api/secrets", {"Content-Encoding: gzip"}, R"({"key":"G","value":"b"})", 415},
      // Updates.
      {"empty update", "PUT", "/api/secrets/EXISTING", {}, "{}", 400},
      {"null update value", "PUT", "/api/secrets/EXISTING", {}, R"({"value":null})", 400},
      {"number update value", "PUT", "/api/secrets/EXISTING", {}, R"({"value":5})", 400},
      {"update array body", "PUT", "/api/secrets/EXISTING", {}, R"(["x"])", 400},
      {"update missing", "PUT", "/api/secrets/NOT_THERE", {}, R"({"value":"x"})", 404},
      {"update sql path", "PUT", "/api/secrets/EXISTING'%3B%20DROP%20TABLE%20secrets.secrets", {}, R"({"value":"x"})", 400},
      // Keys in the path.
      {"sql path", "GET", "/api/secrets/KEY'%3B%20DROP%20TABLE%20secrets.secrets%3B--", {}, "", 400},
      {"unicode path", "GET", "/api/secrets/%C3%9CBER", {}, "", 400},
      {"raw unicode path", "GET", "/api/secrets/\xc3\x9c" "BER", {}, "", 400},
      {"NUL path", "GET", "/api/secrets/%00", {}, "", 400},
      {"NUL suffix path", "GET", "/api/secrets/EXISTING%00", {}, "", 400},
      {"dot-dot path", "GET", "/api/secrets/../../etc/passwd", {}, "", 400},
      {"encoded slash", "DELETE", "/api/secrets/EXISTING%2F..", {}, "", 400},
      {"lower-case path", "DELETE", "/api/secrets/existing", {}, "", 400},
      {"long path key", "GET", "/api/secrets/" + std::string(300, 'A'), {}, "", 400},
      {"bad scope query", "DELETE", "/api/secrets/EXISTING?scope=everything", {}, "", 400},
      {"repeated scope", "DELETE", "/api/secrets/EXISTING?scope=integration&scope=node", {}, "", 400},
      {"bad limit", "GET", "/api/secrets?limit=999999999999999999999", {}, "", 400},
      // Credentials.
      {"no credentials", "DELETE", "/api/secrets/EXISTING", {}, "", 401, false},
      {"empty authorization", "DELETE", "/api/secrets/EXISTING", {"Authorization: "}, "", 401, false},
      {"bare bearer", "DELETE", "/api/secrets/EXISTING", {"Authorization: Bearer"}, "", 401, false},
      {"bearer space", "DELETE", "/api/secrets/EXISTING", {"Authorization: Bearer "}, "", 401, false},
      {"bearer garbage", "DELETE", "/api/secrets/EXISTING", {"Authorization: Bearer garbage.garbage.garbage"}, "", 401, false},
      {"alg none", "DELETE", "/api/secrets/EXISTING", {"Authorization: Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0."}, "", 401, false},
      {"basic auth", "GET", "/api/secrets", {"Authorization: Basic dXNlcjpwYXNz"}, "", 401, false},
      {"tampered token", "GET", "/api/secrets", {"Authorization: Bearer " + u.access_token + "A"}, "", 401, false},
      {"api key without colon", "GET", "/api/secrets", {"X-API-Key: nocolon"}, "", 401, false},
      {"api key colon only", "GET", "/api/secrets", {"X-API-Key: :"}, "", 401, false},
      {"api key unknown node", "POST", "/api/secrets", {"X-API-Key: ghost:" + std::string(40, 'a')}, R"({"key":"G","value":"b"})", 401, false},
      {"app household not uuid", "POST", "/api/secrets", {app_id, app_key, "X-Household-Id: not-a-uuid"}, R"({"key":"APP","value":"b"})", 403, false},
      {"app household empty", "DELETE", "/api/secrets/EXISTING", {app_id, app_key, "X-Household-Id: "}, "", 403, false},
      {"app without household", "DELETE", "/api/secrets/EXISTING", {app_id, app_key}, "", 403, false},
      {"admin key", "DELETE", "/api/secrets/EXISTING", {"X-Admin-Key: " + admin_key()}, "", 403, false},
      // Methods and paths.
      {"patch", "PATCH", "/api/secrets/EXISTING", {}, R"({"value":"x"})", 405},
      {"delete collection", "DELETE", "/api/secrets", {}, "", 405},
      {"put collection", "PUT", "/api/secrets", {}, R"({"value":"x"})", 405},
      {"post to key", "POST", "/api/secrets/EXISTING", {}, R"({"value":"x"})", 405},
      {"unknown path", "GET", "/api/secretsX", {}, "", 404},
  };
  ASSERT_GE(cases.size(), 30u);

  for (const auto& tc : cases) {
    SCOPED_TRACE(tc.name);
    std::string before = secrets_api::secrets_snapshot();
    std::vector<std::string> headers = tc.headers;
    if (tc.authenticated) headers.push_back(bearer);
    RawResponse r = raw_request(tc.method, tc.target, headers, tc.body);
    EXPECT_EQ(r.status, tc.status) << r.body;
    json body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body.value("statusCode", 0), tc.status) << r.body;
    EXPECT_TRUE(body.contains("message") && body["message"].is_string()) << r.body;
    EXPECT_EQ(secrets_api::secrets_snapshot(), before);
  }

  // A chunked body larger than SECRETSD_MAX_BODY_BYTES (65536 by default).
  std::string before = secrets_api::secrets_snapshot();
  RawResponse big = chunked_request("/api/secrets", {bearer}, 256u << 10);
  EXPECT_EQ(big.status, 413) << big.body;
  EXPECT_EQ(json::parse(big.body, nullptr, false).value("statusCode", 0), 413);
  EXPECT_EQ(secrets_api::secrets_snapshot(), before);

  // And the secret everyone aimed at is intact.
  auto c = client();
  auto got = c.Get("/api/secrets/EXISTING", auth_header(u.access_token));
  ASSERT_EQ(got->status, 200);
  EXPECT_EQ(body_of(got).at("data").at("value"), "keep-me");
}

// Sends `head`, then `trickle` one byte every 300 ms (each wait well inside
// the 5 s read timeout), then `tail`, and returns the response.
RawResponse trickled_request(int port, const std::string& head, const std::string& trickle,
                             const std::string& tail) {
  Socket s(port);
  s.send_all(head);
  for (char ch : trickle) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    s.send_all(std::string(1, ch));
  }
  s.send_all(tail);
  return parse_response(s.read_all());
}

// A client trickling a request cannot hold a worker past
// SECRETSD_REQUEST_TIMEOUT_MS (slowloris): the per-read timeout alone would
// let it go on for hours within the byte cap.
TEST_F(MalformedRequestTest, ATrickledRequestIsCutOffAtTheRequestDeadline) {
  auto strict = SecretsdProcess::start({{"SECRETSD_REQUEST_TIMEOUT_MS", "1000"}});
  const std::string head = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nX-Slow: ";
  const std::string trickle = "abcdefgh";  // 2.4 s in all
  const std::string tail = "\r\n\r\n";

  // The default deadline (15 s) lets this request through: the probe works.
  EXPECT_EQ(trickled_request(secretsd().port(), head, trickle, tail).status, 200);
  // With 1 s it is cut off while the headers are still arriving: 408 at
  // the deadline, and the connection closed, long before the trickle ends.
  {
    Socket s(strict->port());
    const auto start = std::chrono::steady_clock::now();
    s.send_all(head);
    s.send_all(trickle.substr(0, 1));
    const RawRead got = s.read_until_close(std::chrono::seconds(6));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_TRUE(got.closed) << "still open 6 s after a 1 s deadline";
    // The 1 s deadline, not the 5 s read timeout, ended it (room for a slow machine).
    EXPECT_LT(took, std::chrono::milliseconds(4000));
    const RawResponse cut = parse_response(got.bytes);
    EXPECT_EQ(cut.status, 408) << got.bytes.substr(0, 200);
    EXPECT_EQ(nlohmann::json::parse(cut.body, nullptr, false),
              (nlohmann::json{{"statusCode", 408}, {"message", "Request timeout"}}));
  }

  // A body trickled past the deadline gets 408 and nothing is done with it.
  const std::string body = R"({"email":"slow@example.test","password":"x"})";
  RawResponse slow_body = trickled_request(
      strict->port(),
      "POST /api/v0/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
      "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
          body.substr(0, 10),
      body.substr(10, 8), body.substr(18));
  EXPECT_EQ(slow_body.status, 408);
  EXPECT_EQ(nlohmann::json::parse(slow_body.body, nullptr, false),
            (nlohmann::json{{"statusCode", 408}, {"message", "Request timeout"}}));
}

// Every status code in what one keep-alive connection answered to `raw`.
std::vector<int> statuses_on_one_connection(const std::string& raw) {
  Socket s(secretsd().port());
  s.send_all(raw);
  const std::string out = s.read_all();
  return statuses_in(out);
}

// Request smuggling: bytes a client sent as (or after) one request's body
// must never be answered as a request of their own on the same connection.
// Each case hides "GET /health" where the first request's body would be.
TEST_F(MalformedRequestTest, NoBodyBytesAreEverAnsweredAsARequest) {
  const std::string smuggled = "GET /health?SMUGGLED HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  const std::string length = std::to_string(smuggled.size());
  auto chunk = [&](const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", data.size());
    return std::string(size) + "\r\n" + data;
  };
  struct SmuggleCase {
    const char* name;
    std::string raw;
  };
  const std::vector<SmuggleCase> cases = {
      {"httplib answers a bad Range itself (416)",
       "POST /api/v0/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=zz\r\nContent-Length: " + length +
           "\r\n\r\n" + smuggled},
      {"httplib answers a 9000-byte URI itself (414)",
       "POST /api/v0/auth/login?" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
           length + "\r\n\r\n" + smuggled},
      {"a chunked DELETE, whose body httplib never reads",
       "DELETE /api/secrets/X HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk(smuggled) +
           "\r\n0\r\n\r\n"},
      {"a Content-Length line ended by a bare LF",
       "POST /api/v0/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + length + "\n\r\n" + smuggled},
      {"a chunk not followed by CRLF",
       "POST /api/v0/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
       "Transfer-Encoding: chunked\r\n\r\n3\r\n{}}\n" + smuggled},
      {"two Transfer-Encoding headers",
       "POST /api/v0/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
       "Transfer-Encoding: identity\r\n\r\n" + chunk(smuggled) + "\r\n0\r\n\r\n"},
  };
  for (const auto& c : cases) {
    const auto statuses = statuses_on_one_connection(c.raw);
    ASSERT_FALSE(statuses.empty()) << c.name << ": no answer at all";
    EXPECT_EQ(statuses.size(), 1u) << c.name << ": " << statuses.size() << " answers, the second "
                                   << (statuses.size() > 1 ? statuses[1] : 0);
    EXPECT_GE(statuses.front(), 400) << c.name;
  }
  // The probe works: the same bytes sent as a second request of their own are answered.
  EXPECT_EQ(statuses_on_one_connection(smuggled + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"),
            (std::vector<int>{200, 200}));
}

// Request heads are capped on their own (64 KiB), not only by the whole
// request's byte cap, and a Range header is ignored rather than multiplying
// a response.
TEST_F(MalformedRequestTest, HeadsAreCappedAndRangesIgnored) {
  std::string many = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  while (many.size() < (80u << 10)) many += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  many += "\r\n";
  {
    // 431 and the connection closed (at once: no linger waits for a client
    // that sent its whole head and reads the answer).
    Socket s(secretsd().port());
    s.send_all(many);
    const RawRead got = s.read_until_close(std::chrono::seconds(3));
    EXPECT_TRUE(got.closed) << "an 80 KiB head left the connection open";
    EXPECT_EQ(statuses_in(got.bytes), (std::vector<int>{431})) << got.bytes.substr(0, 200);
    EXPECT_EQ(nlohmann::json::parse(parse_response(got.bytes).body, nullptr, false),
              (nlohmann::json{{"statusCode", 431}, {"message", "Request header fields too large"}}));
  }

  std::string ranges = "bytes=0-";
  for (int i = 0; i < 1000; ++i) ranges += ",0-";
  Socket s(secretsd().port());
  s.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nRange: " + ranges + "\r\n\r\n");
  RawResponse r = parse_response(s.read_all());
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(r.body.size(), 1000u) << "the answer, once, not a 1001-part 206";
}

}  // namespace
}  // namespace secretsd::it
