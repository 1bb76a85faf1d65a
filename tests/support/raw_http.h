// A raw TCP client for the integration tests: requests are written byte for
// byte, so that no client library normalises paths, headers or framing, and
// the tests can see whether secretsd closed the connection.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

namespace secretsd::it {

struct RawResponse {
  int status = 0;
  std::string body;
};

// What one connection received until the peer closed or the time ran out.
struct RawRead {
  std::string bytes;
  bool closed = false;  // EOF (or a reset) seen before the deadline
};

// Owns a connected socket.
class Socket {
 public:
  explicit Socket(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("connect to secretsd failed");
    }
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  // Sends what it can; false once a send fails (the server reset the
  // connection). Callers that expect an early close (413) may ignore it.
  bool send_all(const std::string& data) {
    std::size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Reads until the peer closes or `limit` passes.
  RawRead read_until_close(std::chrono::milliseconds limit) {
    RawRead out;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[8192];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        out.closed = true;
        break;
      }
      out.bytes.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  // Reads until the peer closes or 5 s pass.
  std::string read_all() { return read_until_close(std::chrono::seconds(5)).bytes; }

 private:
  int fd_;
};

// The first final (non-1xx) response in `raw`.
inline RawResponse parse_response(std::string raw) {
  while (raw.rfind("HTTP/1.1 1", 0) == 0) {  // "100 Continue" and the like
    auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos) return {};
    raw.erase(0, end + 4);
  }
  RawResponse r;
  if (raw.rfind("HTTP/1.1 ", 0) == 0 && raw.size() >= 12) r.status = std::stoi(raw.substr(9, 3));
  auto split = raw.find("\r\n\r\n");
  if (split != std::string::npos) r.body = raw.substr(split + 4);
  return r;
}

// Every final status code in what one connection received.
inline std::vector<int> statuses_in(const std::string& raw) {
  std::vector<int> statuses;
  for (auto at = raw.find("HTTP/1.1 "); at != std::string::npos; at = raw.find("HTTP/1.1 ", at + 1)) {
    if (at + 12 > raw.size()) break;
    const int status = std::atoi(raw.substr(at + 9, 3).c_str());
    if (status >= 200) statuses.push_back(status);
  }
  return statuses;
}

}  // namespace secretsd::it
