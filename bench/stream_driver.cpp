// The client side of bench/stream_bench.sh: opens N change streams to
// secretsd, keeps them read, and on demand measures how long one change
// takes to reach every stream.
//
//   stream_driver PORT N TOKEN_FILE KEY CHANGES STATE_DIR
//
// 1. Opens N streams (GET /api/secrets/events, Authorization from
//    TOKEN_FILE), one after another, each waiting for its response head;
//    writes "open <ok> <failed>" to STATE_DIR/opened.
// 2. Reads every stream (heartbeats) until STATE_DIR/go exists.
// 3. CHANGES times: notes the time, PUTs a new value of KEY, and waits (up
//    to 10 s) until every stream has received one more event; the latency
//    of a stream is its event's arrival minus the time before the PUT.
//    Prints "latency_ms p50 <x> p99 <y> max <z> delivered <d>/<expected>".
// Built by the bench script with g++ (no project dependency).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

using Clock = std::chrono::steady_clock;

namespace {

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (fd >= 0) ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool send_all(int fd, const std::string& s) {
  std::size_t sent = 0;
  while (sent < s.size()) {
    ssize_t n = ::send(fd, s.data() + sent, s.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until the blank line of a response head (5 s); the head, or "".
std::string read_head(int fd, std::string& rest) {
  std::string buf;
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) return "";
    buf.append(tmp, static_cast<std::size_t>(n));
    auto end = buf.find("\r\n\r\n");
    if (end != std::string::npos) {
      rest = buf.substr(end + 4);
      return buf.substr(0, end);
    }
  }
  return "";
}

std::size_t count_events(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t at = s.find("\nevent: "); at != std::string::npos; at = s.find("\nevent: ", at + 1)) ++n;
  return n;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::cerr << "usage: stream_driver PORT N TOKEN_FILE KEY CHANGES STATE_DIR\n";
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int n = std::atoi(argv[2]);
  std::string token;
  std::ifstream(argv[3]) >> token;
  const std::string key = argv[4];
  const int changes = std::atoi(argv[5]);
  const std::string state = argv[6];

  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  const std::string request = "GET /api/secrets/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Accept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n\r\n";
  int ep = ::epoll_create1(0);
  struct Stream {
    std::string data;
    std::size_t events = 0;
  };
  std::unordered_map<int, Stream> streams;
  int ok = 0, failed = 0;
  for (int i = 0; i < n; ++i) {
    int fd = connect_to(port);
    std::string rest;
    std::string head = fd >= 0 && send_all(fd, request) ? read_head(fd, rest) : "";
    if (head.rfind("HTTP/1.1 200", 0) != 0) {
      ++failed;
      if (fd >= 0) ::close(fd);
      if (failed == 1) std::cerr << "first refusal: " << head.substr(0, 40) << "\n";
      continue;
    }
    ++ok;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    streams[fd].data = rest;
  }
  std::ofstream(state + "/opened") << "open " << ok << " " << failed << "\n";

  std::vector<epoll_event> ready(4096);
  auto pump = [&](int timeout_ms, Clock::time_point* arrival_base, std::vector<double>* lat,
                  std::size_t want) {
    int k = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), timeout_ms);
    const auto now = Clock::now();
    for (int i = 0; i < k; ++i) {
      int fd = ready[static_cast<std::size_t>(i)].data.fd;
      auto& s = streams[fd];
      char buf[8192];
      for (;;) {
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        // s.data holds the previous read's last 7 bytes: a "\nevent: " cut
        // between two reads is counted once.
        s.data.append(buf, static_cast<std::size_t>(r));
        const std::size_t before = s.events;
        s.events += count_events(s.data);
        if (lat != nullptr && before < want && s.events >= want) {
          lat->push_back(std::chrono::duration<double, std::milli>(now - *arrival_base).count());
        }
        if (s.data.size() > 7) s.data.erase(0, s.data.size() - 7);
      }
    }
  };

  struct stat st{};
  while (::stat((state + "/go").c_str(), &st) != 0) pump(100, nullptr, nullptr, 0);

  std::vector<double> all;
  std::size_t delivered = 0, expected = 0;
  for (int c = 1; c <= changes; ++c) {
    std::vector<double> lat;
    const std::string body = "{\"value\":\"bench-" + std::to_string(c) + "-" + std::to_string(::getpid()) + "\"}";
    const std::string put = "PUT /api/secrets/" + key + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Authorization: Bearer " + token + "\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    const auto t0 = Clock::now();
    int w = connect_to(port);
    std::string rest;
    if (w < 0 || !send_all(w, put) || read_head(w, rest).rfind("HTTP/1.1 200", 0) != 0) {
      std::cerr << "the PUT failed\n";
    }
    if (w >= 0) ::close(w);
    const std::size_t want = static_cast<std::size_t>(c);
    const auto deadline = t0 + std::chrono::seconds(10);
    while (lat.size() < streams.size() && Clock::now() < deadline) {
      auto t = t0;
      pump(50, &t, &lat, want);
    }
    delivered += lat.size();
    expected += streams.size();
    all.insert(all.end(), lat.begin(), lat.end());
    // Settle before the next change.
    for (int i = 0; i < 10; ++i) pump(50, nullptr, nullptr, 0);
  }
  std::printf("latency_ms p50 %.1f p99 %.1f max %.1f delivered %zu/%zu\n", percentile(all, 0.5),
              percentile(all, 0.99), all.empty() ? 0.0 : *std::max_element(all.begin(), all.end()),
              delivered, expected);
  return 0;
}
