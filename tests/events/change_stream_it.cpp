// GET /api/secrets/events, the change stream: delivery of every kind of
// change, isolation between households and between sibling nodes, resume
// with Last-Event-ID (and reset past the retention), no value in any event,
// the per-caller and total limits, nothing for a write that rolled back,
// heartbeats, and ordinary requests served while more streams than worker
// threads are open.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::post_json;
using secrets_api::put_json;
using secrets_api::unique_key;
using namespace std::chrono_literals;

struct Event {
  std::string id;
  std::string event;
  json data;
};

// A raw SSE client: the head, then events one by one; keeps every byte.
class EventStream {
 public:
  EventStream(int port, const httplib::Headers& headers, const std::string& query = "")
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect failed");
    }
    std::string req = "GET /api/secrets/events" + query + " HTTP/1.1\r\nHost: localhost\r\n"
                      "Accept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL);
    // The head.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (all_.find("\r\n\r\n") == std::string::npos && read_some(deadline)) {
    }
    auto end = all_.find("\r\n\r\n");
    if (end == std::string::npos) return;
    head_ = all_.substr(0, end);
    pos_ = end + 4;
    status_ = std::stoi(head_.substr(9, 3));
  }
  ~EventStream() { close(); }
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int status() const { return status_; }
  const std::string& head() const { return head_; }
  std::string body_so_far() const { return all_.substr(pos_); }
  const std::string& all() const { return all_; }
  bool closed() const { return eof_; }

  // The next event (comments and retry lines skipped), or nullopt after `wait`.
  std::optional<Event> next(std::chrono::milliseconds wait = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto end = all_.find("\n\n", pos_);
      while (end != std::string::npos) {
        std::string block = all_.substr(pos_, end - pos_);
        pos_ = end + 2;
        Event e;
        std::size_t at = 0;
        while (at < block.size()) {
          auto nl = block.find('\n', at);
          std::string line = block.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
          at = nl == std::string::npos ? block.size() : nl + 1;
          if (line.rfind("id: ", 0) == 0) e.id = line.substr(4);
          if (line.rfind("event: ", 0) == 0) e.event = line.substr(7);
          if (line.rfind("data: ", 0) == 0) e.data = json::parse(line.substr(6));
        }
        if (!e.event.empty()) return e;
        end = all_.find("\n\n", pos_);
      }
      if (!read_some(deadline)) return std::nullopt;
    }
  }

  // The first `n` events (each awaited up to 10 s), then whatever else
  // arrives within `quiet`: a slow machine delays events, it does not add
  // any, so the count stays exact without a guessed window.
  std::vector<Event> take(std::size_t n, std::chrono::milliseconds quiet = 300ms) {
    std::vector<Event> out;
    while (out.size() < n) {
      auto e = next(10000ms);
      if (!e) return out;
      out.push_back(*e);
    }
    auto rest = drain(quiet);
    out.insert(out.end(), rest.begin(), rest.end());
    return out;
  }

  // Every event that arrives within `wait`.
  std::vector<Event> drain(std::chrono::milliseconds wait) {
    std::vector<Event> out;
    auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto e = next(left);
      if (!e) break;
      out.push_back(*e);
    }
    return out;
  }

  // Reads until `deadline`; false on timeout or EOF.
  bool read_some(std::chrono::steady_clock::time_point deadline) {
    while (fd_ >= 0 && !eof_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 100))) <= 0) continue;
      char buf[8192];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      all_.append(buf, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

 private:
  int fd_;
  std::string all_;
  std::string head_;
  std::size_t pos_ = 0;
  int status_ = 0;
  bool eof_ = false;
};

httplib::Headers user_headers(const TestUser& u) { return auth_header(u.access_token); }

class ChangeStreamTest : public SecretsdTest {
 protected:
  static void create(const TestUser& u, const json& body) {
    auto c = client();
    auto res = post_json(c, "/api/secrets", body, user_headers(u));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
  }
  // The actions of `events`, in order.
  static std::vector<std::string> actions(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.event);
    return out;
  }
  static std::vector<std::string> keys(const std::vector<Event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.data.at("key").get<std::string>());
    return out;
  }
};

TEST_F(ChangeStreamTest, DeliversEveryKindOfChangeWithoutAValue) {
  TestUser u = register_user("stream delivery");
  const std::string canary = "stream-canary-" + unique_suffix();
  const std::string k = unique_key("STREAMED");
  EventStream s(secretsd().port(), user_headers(u));
  ASSERT_EQ(s.status(), 200) << s.head();
  EXPECT_NE(s.head().find("Content-Type: text/event-stream"), std::string::npos);

  auto c = client();
  auto h = user_headers(u);
  create(u, {{"key", k}, {"value", canary + "-1"}});
  ASSERT_EQ(put_json(c, "/api/secrets/" + k, {{"value", canary + "-2"}}, h)->status, 200);
  ASSERT_EQ(post_json(c, "/api/secrets/" + k + "/rollback", {{"version", 1}}, h)->status, 200);
  ASSERT_EQ(c.Delete(("/api/secrets/" + k).c_str(), h)->status, 200);
  ASSERT_EQ(post_json(c, "/api/secrets/" + k + "/restore", json::object(), h)->status, 200);
  ASSERT_EQ(c.Delete(("/api/secrets/" + k).c_str(), h)->status, 200);
  {
    auto db = superuser_db();
    pqxx::work tx(db);
    tx.exec_params("SELECT secrets.use_household($1::uuid)", u.household_id);
    tx.exec_params("SELECT secrets.purge_secret($1, 'integration')", k);
    tx.commit();
  }
  std::vector<Event> got;
  for (int i = 0; i < 7; ++i) {
    auto e = s.next();
    ASSERT_TRUE(e) << "event " << i << " missing; so far: " << s.body_so_far();
    got.push_back(*e);
  }
  EXPECT_EQ(actions(got), (std::vector<std::string>{"create", "update", "rollback", "delete", "restore",
                                                    "delete", "purge"}));
  long long prev = 0;
  for (const auto& e : got) {
    EXPECT_EQ(e.data.at("key"), k);
    EXPECT_EQ(e.data.at("scope"), "integration");
    EXPECT_TRUE(e.data.at("node_id").is_null());
    EXPECT_EQ(e.data.at("action"), e.event);
    EXPECT_TRUE(e.data.at("version").is_number_integer());
    EXPECT_EQ(e.data.at("at").get<std::string>().back(), 'Z');
    EXPECT_EQ(e.data.size(), 6u) << e.data.dump();
    EXPECT_GT(std::stoll(e.id), prev);  // ids increase
    prev = std::stoll(e.id);
  }
  EXPECT_EQ(got[1].data.at("version"), 2);
  EXPECT_EQ(got[2].data.at("version"), 3);
  // The whole stream, head included, never holds a value.
  EXPECT_EQ(s.all().find(canary), std::string::npos);
}

TEST_F(ChangeStreamTest, HouseholdsAndSiblingNodesAreIsolated) {
  TestUser a = register_user("stream household a");
  TestUser b = register_user("stream household b");
  NodeCredentials n1 = create_node(a.household_id);
  NodeCredentials n2 = create_node(a.household_id);
  const int port = secretsd().port();
  EventStream sa(port, user_headers(a));
  EventStream sb(port, user_headers(b));
  EventStream s1(port, node_headers(n1.node_id, n1.api_key));
  EventStream s2(port, node_headers(n2.node_id, n2.api_key));
  for (auto* s : {&sa, &sb, &s1, &s2}) ASSERT_EQ(s->status(), 200) << s->head();

  const std::string shared = unique_key("SHARED");
  const std::string own1 = unique_key("N1_ONLY");
  const std::string own2 = unique_key("N2_ONLY");
  const std::string b_key = unique_key("B_ONLY");
  create(a, {{"key", shared}, {"value", "v"}});
  create(a, {{"key", own1}, {"value", "v"}, {"scope", "node"}, {"node_id", n1.node_id}});
  create(a, {{"key", own2}, {"value", "v"}, {"scope", "node"}, {"node_id", n2.node_id}});
  create(b, {{"key", b_key}, {"value", "v"}});

  EXPECT_EQ(keys(sa.take(3)), (std::vector<std::string>{shared, own1, own2}));
  EXPECT_EQ(keys(s1.take(2)), (std::vector<std::string>{shared, own1}));
  EXPECT_EQ(keys(s2.take(2)), (std::vector<std::string>{shared, own2}));
  EXPECT_EQ(keys(sb.take(1)), (std::vector<std::string>{b_key}));
}

TEST_F(ChangeStreamTest, AdminKeyAndBadRequestsAreRefused) {
  const int port = secretsd().port();
  EventStream admin(port, admin_headers());
  EXPECT_EQ(admin.status(), 403);
  EventStream anonymous(port, {});
  EXPECT_EQ(anonymous.status(), 401);
  TestUser u = register_user("stream refusals");
  EventStream bad_id(port, {{"Authorization", "Bearer " + u.access_token}, {"Last-Event-ID", "x1"}});
  EXPECT_EQ(bad_id.status(), 400);
  EXPECT_NE(bad_id.all().find("\"statusCode\":400"), std::string::npos);
}

TEST_F(ChangeStreamTest, ResumesWithLastEventIdAndResetsPastTheRetention) {
  TestUser u = register_user("stream resume");
  const int port = secretsd().port();
  const std::string k1 = unique_key("BEFORE"), k2 = unique_key("MISSED_A"), k3 = unique_key("MISSED_B"),
                    k4 = unique_key("LIVE");
  std::string last;
  {
    EventStream s(port, user_headers(u));
    create(u, {{"key", k1}, {"value", "v"}});
    auto e = s.next();
    ASSERT_TRUE(e);
    last = e->id;
  }  // disconnected
  create(u, {{"key", k2}, {"value", "v"}});
  create(u, {{"key", k3}, {"value", "v"}});
  auto headers = user_headers(u);
  headers.emplace("Last-Event-ID", last);
  EventStream resumed(port, headers);
  ASSERT_EQ(resumed.status(), 200);
  EXPECT_EQ(keys(resumed.take(2)), (std::vector<std::string>{k2, k3}));
  create(u, {{"key", k4}, {"value", "v"}});
  auto live = resumed.next();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->data.at("key"), k4);

  // The query parameter works the same.
  EventStream by_query(port, user_headers(u), "?last_event_id=" + last);
  EXPECT_EQ(keys(by_query.take(3)), (std::vector<std::string>{k2, k3, k4}));

  // Past the retention (here: 1 event), a reset instead of a partial replay.
  auto small = SecretsdProcess::start({{"SECRETSD_STREAM_REPLAY_MAX_EVENTS", "1"}});
  EventStream reset(small->port(), headers);
  auto e = reset.next();
  ASSERT_TRUE(e) << reset.body_so_far();
  EXPECT_EQ(e->event, "reset");
  EXPECT_EQ(e->data.at("reason"), "too_many");
  // An id that is not in this household's log (another household's): reset too.
  TestUser v = register_user("stream resume other");
  create(v, {{"key", unique_key("OTHER")}, {"value", "v"}});
  std::string foreign;
  {
    auto db = superuser_db();
    pqxx::nontransaction tx(db);
    foreign = tx.exec_params1("SELECT max(id)::text FROM secrets.audit_log WHERE household_id = $1::uuid",
                              v.household_id)[0].as<std::string>();
  }
  auto other = user_headers(u);
  other.emplace("Last-Event-ID", foreign);
  EventStream gone(port, other);
  auto g = gone.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->event, "reset");
  EXPECT_EQ(g->data.at("reason"), "gone");
}

TEST_F(ChangeStreamTest, RolledBackAndFailedWritesSendNothing) {
  TestUser u = register_user("stream rollback");
  EventStream s(secretsd().port(), user_headers(u));
  const std::string k = unique_key("ROLLED_BACK"), marker = unique_key("MARKER");
  {
    auto db = superuser_db();
    pqxx::work tx(db);
    tx.exec_params("SELECT secrets.use_household($1::uuid)", u.household_id);
    tx.exec_params("SELECT secrets.set_secret($1, 'never', 'integration')", k);
    tx.abort();
  }
  create(u, {{"key", marker}, {"value", "v"}});
  // A write the API refuses (stale If-Match): no change, no event.
  auto c = client();
  auto h = user_headers(u);
  h.emplace("If-Match", "\"v7\"");
  EXPECT_EQ(put_json(c, "/api/secrets/" + marker, {{"value", "x"}}, h)->status, 412);
  EXPECT_EQ(keys(s.take(1, 1500ms)), (std::vector<std::string>{marker}));
}

TEST_F(ChangeStreamTest, LimitsPerCallerAndInTotal) {
  auto p = SecretsdProcess::start({{"SECRETSD_STREAM_MAX_PER_CALLER", "2"}, {"SECRETSD_STREAM_MAX_TOTAL", "3"}});
  TestUser a = register_user("stream limits a");
  TestUser b = register_user("stream limits b");
  auto a1 = std::make_unique<EventStream>(p->port(), user_headers(a));
  EventStream a2(p->port(), user_headers(a));
  EventStream a3(p->port(), user_headers(a));
  EXPECT_EQ(a1->status(), 200);
  EXPECT_EQ(a2.status(), 200);
  EXPECT_EQ(a3.status(), 429);
  EXPECT_NE(a3.all().find(R"({"statusCode":429,"message":"Too many open change streams for this caller"})"),
            std::string::npos) << a3.all();
  EventStream b1(p->port(), user_headers(b));
  EXPECT_EQ(b1.status(), 200);
  EventStream b2(p->port(), user_headers(b));
  EXPECT_EQ(b2.status(), 503);
  EXPECT_NE(b2.all().find(R"({"statusCode":503,"message":"Too many open change streams"})"), std::string::npos);
  // A closed stream gives its place back.
  a1.reset();
  bool reopened = false;
  for (int i = 0; i < 50 && !reopened; ++i) {
    std::this_thread::sleep_for(50ms);
    EventStream again(p->port(), user_headers(a));
    reopened = again.status() == 200;
  }
  EXPECT_TRUE(reopened);
}

TEST_F(ChangeStreamTest, StreamsHoldNoWorkerAndSendHeartbeats) {
  auto p = SecretsdProcess::start({{"SECRETSD_THREADS", "2"}, {"SECRETSD_STREAM_HEARTBEAT_S", "1"}});
  TestUser u = register_user("stream workers");
  std::vector<std::unique_ptr<EventStream>> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(std::make_unique<EventStream>(p->port(), user_headers(u)));
    ASSERT_EQ(streams.back()->status(), 200) << i;
  }
  auto c = p->client();
  c.set_read_timeout(10, 0);
  for (int i = 0; i < 5; ++i) {
    auto res = c.Get("/api/secrets", user_headers(u));
    ASSERT_TRUE(res) << "an ordinary request was not served with 8 streams open on 2 workers";
    EXPECT_EQ(res->status, 200);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10000ms;  // heartbeat every 1 s
  while (streams[0]->body_so_far().find(": heartbeat") == std::string::npos &&
         streams[0]->read_some(deadline)) {
  }
  EXPECT_NE(streams[0]->body_so_far().find(": heartbeat\n\n"), std::string::npos);
  // SIGTERM ends the streams cleanly and secretsd exits 0.
  EXPECT_EQ(p->stop(), 0);
  const auto end = std::chrono::steady_clock::now() + 2s;
  while (!streams[1]->closed() && streams[1]->read_some(end)) {
  }
  EXPECT_TRUE(streams[1]->closed());
}

// A stream lasts no longer than its credentials: a revoked node's stream
// and a user's stream past its token's expiry are closed at the next
// heartbeat, while a stream whose credentials still hold stays open.
TEST_F(ChangeStreamTest, AStreamEndsWithItsCredentials) {
  auto p = SecretsdProcess::start({{"SECRETSD_STREAM_HEARTBEAT_S", "1"}});
  TestUser u = register_user("stream credentials");
  NodeCredentials revoked = create_node(u.household_id);
  NodeCredentials kept = create_node(u.household_id);
  JwtClaims short_lived = claims_for(u);
  short_lived.exp = short_lived.iat + 2;
  EventStream node_stream(p->port(), node_headers(revoked.node_id, revoked.api_key));
  EventStream kept_stream(p->port(), node_headers(kept.node_id, kept.api_key));
  EventStream user_stream(p->port(), auth_header(sign_jwt(short_lived, auth_secret_key())));
  EventStream long_user(p->port(), user_headers(u));
  for (auto* s : {&node_stream, &kept_stream, &user_stream, &long_user}) {
    ASSERT_EQ(s->status(), 200) << s->head();
  }

  auto c = p->client();
  auto res = c.Delete(("/api/v0/admin/nodes/" + revoked.node_id).c_str(), admin_headers());
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 204);

  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((!node_stream.closed() || !user_stream.closed()) &&
         std::chrono::steady_clock::now() < deadline) {
    node_stream.read_some(std::chrono::steady_clock::now() + 100ms);
    user_stream.read_some(std::chrono::steady_clock::now() + 100ms);
  }
  EXPECT_TRUE(node_stream.closed()) << "a revoked node still hears of changes";
  EXPECT_TRUE(user_stream.closed()) << "a stream outlived its access token";
  kept_stream.read_some(std::chrono::steady_clock::now() + 200ms);
  long_user.read_some(std::chrono::steady_clock::now() + 200ms);
  EXPECT_FALSE(kept_stream.closed());
  EXPECT_FALSE(long_user.closed());
}

}  // namespace
}  // namespace secretsd::it
