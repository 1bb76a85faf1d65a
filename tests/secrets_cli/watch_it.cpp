// `secrets watch` and `secrets run --watch` against a real secretsd: JSON
// lines without values, a reconnect with Last-Event-ID after the connection
// is cut (through a proxy the test controls) that misses nothing, and a
// command restarted with the new values on a change, SIGKILLed after the
// grace period when it ignores SIGTERM.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "harness.h"
#include "secrets_process.h"
#include "secrets_api_support.h"

namespace secretsd::it {
namespace {

using nlohmann::json;
using secrets_api::post_json;
using secrets_api::put_json;
using secrets_api::unique_key;
using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) out.push_back(line);
  return out;
}

// Waits until pred() holds, up to `limit`.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 8000ms) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return pred();
}

// build/bin/secrets in the background, stdout and stderr to files.
class SecretsCommand {
 public:
  SecretsCommand(const std::vector<std::string>& args, const Env& env) {
    char tmpl[] = "/tmp/secrets-watch-it.XXXXXX";
    dir_ = mkdtemp(tmpl);
    pid_ = spawn_secrets(args, env, "", path("out"), path("err"));
  }
  ~SecretsCommand() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    (void)!std::system(("rm -rf '" + dir_ + "'").c_str());
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string out() const { return slurp(path("out")); }
  std::string err() const { return slurp(path("err")); }
  // SIGTERM; the exit code (128+N for signal N), -1 if still running after 5 s.
  int terminate() {
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

// A TCP relay to secretsd whose connections the test can cut.
class CuttableProxy {
 public:
  explicit CuttableProxy(int upstream_port) : upstream_(upstream_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~CuttableProxy() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    ::close(listen_fd_);
    cut();
    acceptor_.join();
    for (auto& t : relays_) t.join();
  }
  int port() const { return port_; }
  // Ends every relayed connection now.
  void cut() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
  }
  int connections() const { return accepted_; }

 private:
  void accept_loop() {
    while (!stopping_) {
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(upstream_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      ++accepted_;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        open_.push_back(client);
        open_.push_back(server);
      }
      relays_.emplace_back([client, server] { relay(client, server); });
    }
  }
  static void relay(int a, int b) {
    char buf[16384];
    for (;;) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(p, 2, 200) < 0) break;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
        if (n <= 0 || ::send(i == 0 ? b : a, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) done = true;
      }
      if (done) break;
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
  }

  int upstream_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<int> open_;
  std::vector<std::thread> relays_;
  std::thread acceptor_;
};

class SecretsWatchTest : public SecretsdTest {
 protected:
  static Env user_env(const TestUser& u, int port) {
    return {{"SECRETS_URL", "http://127.0.0.1:" + std::to_string(port)}, {"SECRETS_TOKEN", u.access_token}};
  }
  static void create(const TestUser& u, const std::string& key, const std::string& value) {
    auto c = client();
    auto res = post_json(c, "/api/secrets", {{"key", key}, {"value", value}}, auth_header(u.access_token));
    ASSERT_EQ(res->status, 200) << res->body;
  }
  static void update(const TestUser& u, const std::string& key, const std::string& value) {
    auto c = client();
    auto res = put_json(c, "/api/secrets/" + key, {{"value", value}}, auth_header(u.access_token));
    ASSERT_EQ(res->status, 200) << res->body;
  }
};

TEST_F(SecretsWatchTest, WatchPrintsJsonLinesAndResumesAfterACut) {
  TestUser u = register_user("watch");
  CuttableProxy proxy(secretsd().port());
  SecretsCommand watch({"watch"}, user_env(u, proxy.port()));
  // Printed once the stream is open: every change from then on reaches it.
  ASSERT_TRUE(eventually([&] { return watch.err().find("secrets: watching for changes") != std::string::npos; },
                         20000ms))
      << watch.err();
  const std::string canary = "watch-canary-" + unique_suffix();
  const std::string a = unique_key("WATCHED_A"), b = unique_key("WATCHED_B"), c = unique_key("WATCHED_C");
  create(u, a, canary);
  ASSERT_TRUE(eventually([&] { return lines_of(watch.out()).size() >= 1; })) << watch.err();

  proxy.cut();  // the stream drops; these two happen while it is down
  create(u, b, canary);
  update(u, b, canary + "-2");
  ASSERT_TRUE(eventually([&] { return lines_of(watch.out()).size() >= 3; }, 10000ms))
      << "out: " << watch.out() << "\nerr: " << watch.err();
  create(u, c, canary);
  ASSERT_TRUE(eventually([&] { return lines_of(watch.out()).size() >= 4; })) << watch.out();
  EXPECT_GE(proxy.connections(), 2);

  auto lines = lines_of(watch.out());
  ASSERT_EQ(lines.size(), 4u) << watch.out();
  std::vector<std::string> seen;
  long long prev = 0;
  for (const auto& l : lines) {
    json j = json::parse(l);
    seen.push_back(j.at("key").get<std::string>() + ":" + j.at("action").get<std::string>());
    EXPECT_GT(j.at("id").get<long long>(), prev);
    prev = j.at("id").get<long long>();
    EXPECT_EQ(j.at("scope"), "integration");
  }
  EXPECT_EQ(seen, (std::vector<std::string>{a + ":create", b + ":create", b + ":update", c + ":create"}));
  EXPECT_EQ(watch.out().find(canary), std::string::npos);
  EXPECT_EQ(watch.err().find(canary), std::string::npos);
  EXPECT_EQ(watch.terminate(), 128 + SIGTERM);
}

TEST_F(SecretsWatchTest, RunWatchRestartsTheCommandWithNewValues) {
  TestUser u = register_user("run watch");
  const std::string k = unique_key("RESTARTED");
  create(u, k, "first");
  char tmpl[] = "/tmp/secrets-run-watch.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string log = dir + "/log";
  SecretsCommand run({"run", "--watch", "--", "/bin/sh", "-c", "echo \"$" + k + "\" >> " + log + "; exec sleep 60"},
                     user_env(u, secretsd().port()));
  ASSERT_TRUE(eventually([&] { return slurp(log) == "first\n"; })) << run.err();
  std::this_thread::sleep_for(500ms);  // the stream is open
  update(u, k, "second");
  ASSERT_TRUE(eventually([&] { return slurp(log) == "first\nsecond\n"; })) << slurp(log) << run.err();
  // SIGTERM reaches the command; its death by SIGTERM is the exit code.
  EXPECT_EQ(run.terminate(), 128 + SIGTERM);
  (void)!std::system(("rm -rf '" + dir + "'").c_str());
}

TEST_F(SecretsWatchTest, RunWatchKillsACommandThatIgnoresSigtermAfterTheGrace) {
  TestUser u = register_user("run watch grace");
  const std::string k = unique_key("STUBBORN");
  create(u, k, "one");
  char tmpl[] = "/tmp/secrets-run-watch.XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string log = dir + "/log";
  // Logs "<pid> <value>", ignores SIGTERM.
  SecretsCommand run({"run", "--watch", "--grace", "1", "--", "/bin/sh", "-c",
                      "trap '' TERM; echo \"$$ $" + k + "\" >> " + log + "; exec sleep 60"},
                     user_env(u, secretsd().port()));
  ASSERT_TRUE(eventually([&] { return lines_of(slurp(log)).size() == 1; })) << run.err();
  std::this_thread::sleep_for(500ms);
  const auto changed = std::chrono::steady_clock::now();
  update(u, k, "two");
  ASSERT_TRUE(eventually([&] { return lines_of(slurp(log)).size() == 2; })) << run.err();
  const auto took = std::chrono::steady_clock::now() - changed;
  EXPECT_GE(took, 1000ms);  // waited for the grace period
  EXPECT_LT(took, 5000ms);  // then killed it
  auto lines = lines_of(slurp(log));
  EXPECT_NE(lines[1].find(" two"), std::string::npos);
  const int first_pid = std::stoi(lines[0]);
  EXPECT_NE(kill(first_pid, 0), 0);  // the first command is gone
  for (const auto& l : lines) kill(std::stoi(l), SIGKILL);
  (void)!std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace secretsd::it
