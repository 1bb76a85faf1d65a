#include "http/socket_stream.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace secretsd::http {

namespace {

int poll_for(socket_t sock, short events, std::chrono::milliseconds timeout) {
  pollfd pfd{sock, events, 0};
  int rc;
  do {
    rc = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  return rc;
}

void describe(const sockaddr_storage& addr, std::string& ip, int& port) {
  char host[NI_MAXHOST];
  char serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), host, sizeof(host),
                    serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

bool wait_readable(socket_t sock, std::chrono::milliseconds timeout) {
  return poll_for(sock, POLLIN, timeout) > 0;
}

CappedSocketStream::CappedSocketStream(socket_t sock, StreamLimits limits)
    : sock_(sock), limits_(limits) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    describe(addr, remote_ip_, remote_port_);
  }
  len = sizeof(addr);
  if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    describe(addr, local_ip_, local_port_);
  }
}

void CappedSocketStream::start_request() {
  delivered_ = 0;
  cap_exceeded_ = false;
  timed_out_ = false;
  reading_request_ = false;
  head_refusal_ = {400, ""};
}

std::size_t CappedSocketStream::find_head_end(std::size_t& scanned) const {
  const std::size_t limit = std::min(buf_.size(), buf_pos_ + limits_.header_byte_cap);
  for (; scanned < limit; ++scanned) {
    if (buf_[scanned] != '\n') continue;
    const std::size_t line_end = scanned + 1;
    if (scanned == buf_pos_ || buf_[scanned - 1] != '\r') return line_end;  // bare LF
    if (line_end - buf_pos_ >= 4 && buf_.compare(line_end - 4, 4, "\r\n\r\n") == 0) return line_end;
  }
  return 0;
}

HeadStatus CappedSocketStream::read_head() {
  // Drop what earlier requests consumed, so the head starts at buf_pos_ 0
  // and the buffer stays within the head cap plus one recv.
  buf_.erase(0, buf_pos_);
  buf_pos_ = 0;
  reading_request_ = true;
  deadline_ = std::chrono::steady_clock::now() + limits_.request_timeout;
  std::size_t scanned = 0;
  for (;;) {
    if (const std::size_t end = find_head_end(scanned); end != 0) {
      if (auto refusal = screen_head(std::string_view(buf_).substr(0, end))) {
        head_refusal_ = *refusal;
        return HeadStatus::Refused;
      }
      return HeadStatus::Ready;
    }
    if (scanned >= limits_.header_byte_cap) {
      head_refusal_ = head_too_large();
      return HeadStatus::Refused;
    }
    if (!fill_buffer()) return timed_out_ ? HeadStatus::TimedOut : HeadStatus::Closed;
  }
}

std::chrono::milliseconds CappedSocketStream::next_wait() const {
  if (!reading_request_) return limits_.read_timeout;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline_ - std::chrono::steady_clock::now());
  return std::max(std::chrono::milliseconds(0), std::min(limits_.read_timeout, left));
}

bool CappedSocketStream::is_readable() const {
  return has_buffered_input() || wait_readable(sock_, next_wait());
}

bool CappedSocketStream::is_writable() const {
  return poll_for(sock_, POLLOUT, limits_.write_timeout) > 0;
}

// On this kind of VM a system call costs over a microsecond, so the socket
// is read first and polled only when it has nothing yet: the request that
// wait_for_next_request() saw arrive is read without a second poll.
bool CappedSocketStream::fill_buffer() {
  if (!flush()) return false;  // e.g. "100 Continue" must reach the client first
  if (buf_pos_ == buf_.size()) {
    buf_.clear();
    buf_pos_ = 0;
  }
  char chunk[4096];
  ssize_t n;
  for (;;) {
    n = ::recv(sock_, chunk, sizeof(chunk), MSG_DONTWAIT);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto wait = next_wait();
    if (wait.count() == 0 || !wait_readable(sock_, wait)) {
      // The deadline, not the per-read timeout, ended a wait it shortened
      // (poll's whole milliseconds may end it a hair before deadline_).
      timed_out_ = reading_request_ && wait < limits_.read_timeout;
      return false;
    }
  }
  if (n == 0) return false;
  buf_.append(chunk, static_cast<std::size_t>(n));
  return true;
}

ssize_t CappedSocketStream::read(char* ptr, size_t size) {
  if (delivered_ >= limits_.request_byte_cap) {
    cap_exceeded_ = true;
    return -1;
  }
  if (!has_buffered_input() && !fill_buffer()) return -1;
  std::size_t n = std::min({size, buf_.size() - buf_pos_, limits_.request_byte_cap - delivered_});
  std::memcpy(ptr, buf_.data() + buf_pos_, n);
  buf_pos_ += n;
  delivered_ += n;
  return static_cast<ssize_t>(n);
}

namespace {
// A response head plus a typical JSON body fit; a static file does not and
// is sent as it comes.
constexpr std::size_t kCoalesceBytes = 16u << 10;
}  // namespace

ssize_t CappedSocketStream::write(const char* ptr, size_t size) {
  if (detached_) return static_cast<ssize_t>(size);
  if (pending_output_.size() + size <= kCoalesceBytes) {
    pending_output_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  if (!flush() || !send_all(ptr, size)) return -1;
  return static_cast<ssize_t>(size);
}

bool CappedSocketStream::flush() {
  if (pending_output_.empty()) return true;
  bool ok = send_all(pending_output_.data(), pending_output_.size());
  pending_output_.clear();
  return ok;
}

// Sends without polling first; waits for room only when the socket buffer
// is full, within the write timeout.
bool CappedSocketStream::send_all(const char* ptr, size_t size) {
  std::size_t sent = 0;
  while (sent < size) {
    ssize_t n = ::send(sock_, ptr + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && is_writable()) continue;
    return false;
  }
  return true;
}

void CappedSocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = remote_ip_;
  port = remote_port_;
}

void CappedSocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = local_ip_;
  port = local_port_;
}

// Reads what has already arrived without waiting (so even a close with no
// linger does not reset the connection over it), then waits for more only
// within the linger time.
OwnedSocket::~OwnedSocket() {
  if (sock_ == INVALID_SOCKET) return;  // released
  ::shutdown(sock_, SHUT_WR);
  auto deadline = std::chrono::steady_clock::now() + linger_;
  std::size_t drained = 0;
  char sink[4096];
  while (drained < max_drain_) {
    ssize_t n = ::recv(sock_, sink, sizeof(sink), MSG_DONTWAIT);
    if (n > 0) {
      drained += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) break;  // EOF: read and closed
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !wait_readable(sock_, left)) break;
  }
  ::close(sock_);
}

}  // namespace secretsd::http
