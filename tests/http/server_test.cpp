#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/json_io.h"
#include "http/server.h"
#include "http_test_support.h"

namespace secretsd::http {
namespace {

using testing::RawSocket;
using testing::RunningServer;
using namespace std::chrono_literals;

ServerOptions small_limits() {
  ServerOptions o;
  o.worker_threads = 4;
  o.max_pending_connections = 16;
  o.max_body_bytes = 1024;
  o.max_header_bytes = 8192;
  o.read_timeout = 2000ms;
  o.write_timeout = 2000ms;
  o.keep_alive_timeout = std::chrono::seconds(2);
  o.close_linger = 300ms;
  // Small, so that the tests of endless input see the reading stop well
  // before their own bound (the 16 MiB default drains a whole upload).
  o.close_drain_bytes = 1u << 20;
  return o;
}

// Stands for another layer's "backing service unavailable" exception.
struct Outage : std::runtime_error {
  Outage() : std::runtime_error("OUTAGE-CANARY") {}
};

// What main() does with db::classify: the server learns only the verdict.
Failure classify_for_test(const std::exception& error) {
  if (dynamic_cast<const Outage*>(&error) != nullptr) return {true, "outage"};
  return {false, "test failure"};
}

void add_test_routes(Server& server) {
  server.post("/echo", [](Exchange& ex) {
    json_response(ex.res, 200, {{"size", ex.body.size()}});
  });
  server.get("/boom", [](Exchange&) -> void {
    throw std::runtime_error("CANARY-EXCEPTION-TEXT");
  });
  server.get("/outage", [](Exchange&) -> void { throw Outage(); });
  server.get("/slow", [](Exchange& ex) {
    std::this_thread::sleep_for(400ms);
    json_response(ex.res, 200, {{"ok", true}});
  });
  server.get(R"(/api/secrets/([A-Z0-9_]+))", [](Exchange& ex) {
    ex.actor_kind = "user";
    json_response(ex.res, 200, {{"key", ex.req.matches[1].str()}});
  });
}

nlohmann::json body_json(const httplib::Result& r) { return nlohmann::json::parse(r->body); }

class HttpServerTest : public ::testing::Test {
 protected:
  std::ostringstream log_out_;
  AccessLog log_{log_out_};
  Server server_{small_limits(), &log_};
  std::unique_ptr<RunningServer> running_;

  void SetUp() override {
    add_test_routes(server_);
    server_.set_failure_classifier(classify_for_test);
    running_ = std::make_unique<RunningServer>(server_);
    ASSERT_GT(running_->port(), 0);
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", running_->port());
    c.set_read_timeout(5, 0);
    return c;
  }
  // Joins the server, so the log is complete and no longer written to.
  std::string finished_log() {
    running_->stop();
    return log_out_.str();
  }
};

TEST_F(HttpServerTest, SmallBodyReachesHandler) {
  auto r = client().Post("/echo", std::string(100, 'x'), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(body_json(r)["size"], 100);
}

TEST_F(HttpServerTest, OversizedContentLengthIs413Json) {
  auto r = client().Post("/echo", std::string(4096, 'x'), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(r->body, R"({"statusCode":413,"message":"Payload too large"})");
}

TEST_F(HttpServerTest, SmallChunkedBodyIsAccepted) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                         "Connection: close\r\n\r\n"
                         "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  std::string resp = s.read_all(3000);
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_NE(resp.find(R"({"size":11})"), std::string::npos) << resp;
}

// httplib 0.11.4 alone buffers any chunked body (set_payload_max_length is
// not consulted). Sends up to 64 MiB, stopping as soon as an answer shows.
TEST_F(HttpServerTest, EndlessChunkedBodyIs413AndServerStaysUp) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "1000\r\n" + std::string(0x1000, 'a') + "\r\n";
  size_t sent = 0;
  bool answered = false;
  while (sent < (64u << 20)) {
    if (s.readable(0)) {
      answered = true;
      break;
    }
    if (!s.send_all(chunk)) break;
    sent += chunk.size();
  }
  std::string resp = s.read_all(3000);
  EXPECT_TRUE(answered || !resp.empty());
  EXPECT_LT(sent, 8u << 20) << "the server kept reading";
  EXPECT_EQ(resp.rfind("HTTP/1.1 413", 0), 0u) << resp.substr(0, 200);
  EXPECT_NE(resp.find(R"({"statusCode":413,"message":"Payload too large"})"), std::string::npos);
  EXPECT_NE(resp.find("Connection: close"), std::string::npos);

  auto r = client().Get("/api/secrets/STILL_UP");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// Chunk framing can use up the stream's byte cap (head + 2 x body + 4 KiB)
// before the decoded body reaches max_body_bytes: still 413, not 400.
TEST_F(HttpServerTest, ChunkFramingOverTheByteCapIs413) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "1;padding-padding-padding\r\na\r\n";  // 1000 body bytes, 30 KB framed
  s.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + body + "0\r\n\r\n");
  std::string resp = s.read_all(3000);
  EXPECT_EQ(resp.rfind("HTTP/1.1 413", 0), 0u) << resp.substr(0, 200);
  EXPECT_NE(resp.find(R"({"statusCode":413,"message":"Payload too large"})"), std::string::npos);
}

TEST_F(HttpServerTest, OverlongRequestLineIsNotBuffered) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("GET /"));
  const std::string block(64 * 1024, 'a');
  size_t sent = 0;
  while (sent < (64u << 20) && s.send_all(block)) sent += block.size();
  EXPECT_LT(sent, 16u << 20) << "the server kept reading a request line";
  auto r = client().Get("/api/secrets/STILL_UP");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, ExceptionGivesGeneric500WithoutItsText) {
  auto r = client().Get("/boom");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"statusCode":500,"message":"Internal server error"})");
  for (const auto& [name, value] : r->headers) {
    EXPECT_EQ(name.find("EXCEPTION"), std::string::npos);
    EXPECT_EQ(value.find("CANARY"), std::string::npos);
  }
}

TEST_F(HttpServerTest, WhatTheClassifierCallsUnavailableIs503WithRetryAfter) {
  auto r = client().Get("/outage");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(r->body.find("CANARY"), std::string::npos);
  std::string log = finished_log();
  EXPECT_NE(log.find(R"("failure":"outage")"), std::string::npos) << log;
  EXPECT_EQ(log.find("CANARY"), std::string::npos) << log;
}

TEST_F(HttpServerTest, UnknownRouteIs404JsonAndWrongMethodIs405) {
  auto r = client().Get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"statusCode":404,"message":"Not found"})");

  auto r2 = client().Post("/boom", "{}", "application/json");
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->status, 405);
  EXPECT_EQ(body_json(r2)["statusCode"], 405);
}

TEST_F(HttpServerTest, AmbiguousFramingIsRejected) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"));
  EXPECT_EQ(s.read_all(3000).rfind("HTTP/1.1 400", 0), 0u);
}

TEST_F(HttpServerTest, SecurityHeadersOnEveryResponse) {
  auto r = client().Get("/api/secrets/A");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  RawSocket s(running_->port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(s.send_all("GET /api/secrets/A HTTP/1.1\r\nHost: t\r\n\r\n"
                         "GET /api/secrets/B HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  std::string resp = s.read_all(3000);
  EXPECT_NE(resp.find(R"({"key":"A"})"), std::string::npos) << resp;
  EXPECT_NE(resp.find(R"({"key":"B"})"), std::string::npos) << resp;
}

TEST_F(HttpServerTest, AccessLogIsJsonLinesWithoutSecrets) {
  httplib::Headers auth = {{"Authorization", "Bearer AUTH-CANARY"}};
  ASSERT_TRUE(client().Get("/api/secrets/MY_KEY?token=QUERY-CANARY", auth));
  ASSERT_TRUE(client().Post("/echo", auth, R"({"value":"BODY-CANARY"})", "application/json"));
  ASSERT_TRUE(client().Get("/boom"));

  std::string log = finished_log();
  for (const char* canary : {"AUTH-CANARY", "QUERY-CANARY", "BODY-CANARY", "CANARY-EXCEPTION", "token"}) {
    EXPECT_EQ(log.find(canary), std::string::npos) << canary << " leaked: " << log;
  }
  std::istringstream lines(log);
  std::string line;
  int count = 0;
  bool saw_secret_get = false;
  while (std::getline(lines, line)) {
    ++count;
    auto j = nlohmann::json::parse(line);  // throws (fails) if not JSON
    for (const char* field : {"time", "method", "path", "status", "duration_ms", "remote_addr"}) {
      EXPECT_TRUE(j.contains(field)) << field << " missing: " << line;
    }
    if (j["path"] == "/api/secrets/MY_KEY") {
      saw_secret_get = true;
      EXPECT_EQ(j["method"], "GET");
      EXPECT_EQ(j["status"], 200);
      EXPECT_EQ(j["actor"], "user");
      EXPECT_EQ(j["remote_addr"], "127.0.0.1");
      EXPECT_GE(j["duration_ms"].get<double>(), 0.0);
    }
    if (j["path"] == "/boom") {
      EXPECT_EQ(j["status"], 500);
      EXPECT_EQ(j["failure"], "test failure");  // the label, never the text
    } else {
      EXPECT_FALSE(j.contains("failure")) << line;
    }
  }
  EXPECT_EQ(count, 3);
  EXPECT_TRUE(saw_secret_get);
}

TEST(HttpOverload, FullQueueAnswers503Quickly) {
  ServerOptions o = small_limits();
  o.worker_threads = 1;
  o.max_pending_connections = 1;
  Server server(o);
  // The one worker stays busy until the test opens the gate: a refusal that
  // arrives before then did not wait for a worker, whatever the machine's speed.
  std::promise<void> open_gate;
  std::shared_future<void> gate = open_gate.get_future().share();
  server.get("/gate", [gate](Exchange& ex) {
    gate.wait_for(std::chrono::seconds(30));
    json_response(ex.res, 200, {{"ok", true}});
  });
  RunningServer running(server);

  struct Outcome {
    int status;
    std::chrono::steady_clock::time_point done;
  };
  constexpr int kCalls = 6;
  std::vector<std::future<Outcome>> calls;
  for (int i = 0; i < kCalls; ++i) {
    calls.push_back(std::async(std::launch::async, [port = running.port()] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(40, 0);
      auto r = c.Get("/gate");
      return Outcome{r ? r->status : -1, std::chrono::steady_clock::now()};
    }));
    std::this_thread::sleep_for(20ms);  // let each connection be accepted in turn
  }
  // One call runs, one waits in the queue: the others are refused at once.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto answered = [&calls] {
    int n = 0;
    for (auto& f : calls) n += f.wait_for(0ms) == std::future_status::ready ? 1 : 0;
    return n;
  };
  while (answered() < kCalls - 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
  }
  const auto opened = std::chrono::steady_clock::now();
  open_gate.set_value();

  int ok = 0;
  int refused = 0;
  for (auto& f : calls) {
    Outcome out = f.get();
    if (out.status == 200) ++ok;
    if (out.status == 503) {
      ++refused;
      EXPECT_LT(out.done, opened) << "a refusal must not wait for a worker";
    }
  }
  EXPECT_GE(ok, 1);
  EXPECT_GE(refused, 1);
  EXPECT_EQ(ok + refused, kCalls);
}

}  // namespace
}  // namespace secretsd::http
