// The socket layer under http::Server's own connection loop. httplib 0.11.4
// buffers a request line, a header line and a chunked body without any bound
// (verified: a 300 MB request line is held in memory), so the byte cap lives
// here, below every httplib parser.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <httplib.h>

#include "http/head_screen.h"

namespace secretsd::http {

struct StreamLimits {
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // Time to read one request, from its first byte (see ServerOptions).
  std::chrono::milliseconds request_timeout{15000};
  // Bytes of a request line and headers (up to the blank line).
  std::size_t header_byte_cap = 64u << 10;
  // Bytes httplib may read for one request (line + headers + body framing).
  std::size_t request_byte_cap = 2u << 20;
};

// What read_head() found.
enum class HeadStatus {
  Ready,     // a screened head is buffered: httplib may parse it
  Refused,   // head_refusal() says how to answer; then close
  TimedOut,  // the request deadline passed first (408, then close)
  Closed,    // the peer closed or the read failed: close without answer
};

class CappedSocketStream final : public httplib::Stream {
 public:
  CappedSocketStream(socket_t sock, StreamLimits limits);

  // Call before each request on a kept-alive connection.
  void start_request();
  // Reads the request head (up to and including its blank line) into the
  // buffer before httplib sees a byte of it, and screens it (head_screen.h).
  // httplib then parses the buffered head through read().
  HeadStatus read_head();
  const HeadRefusal& head_refusal() const { return head_refusal_; }
  bool cap_exceeded() const { return cap_exceeded_; }
  // The request took longer than request_timeout to arrive.
  bool timed_out() const { return timed_out_; }
  // Pipelined bytes already read past the previous request.
  bool has_buffered_input() const { return buf_pos_ < buf_.size(); }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  // Small writes are held until flush() or the next read, so that a
  // response's head and body leave in one send() (httplib writes them
  // separately). Larger ones go straight out.
  ssize_t write(const char* ptr, size_t size) override;
  // Sends what write() held; false if the peer is gone.
  bool flush();
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }
  // The connection was handed over (Exchange::hand_over): from now on
  // writes are dropped, so that httplib's own response never reaches the
  // socket that another owner now writes to.
  void detach() {
    detached_ = true;
    pending_output_.clear();
  }

 private:
  // Appends what one recv() returns to the buffer; false on EOF, error or
  // timeout (timed_out_ tells which).
  bool fill_buffer();
  // Where the head in the buffer ends (past its blank line, or past a line
  // ended by a bare LF, which the screen refuses), or 0 if not yet.
  std::size_t find_head_end(std::size_t& scanned) const;
  // How long the next wait for input may last: the read timeout, or less
  // when the request's deadline is nearer (zero once it has passed).
  std::chrono::milliseconds next_wait() const;
  bool send_all(const char* ptr, size_t size);

  socket_t sock_;
  StreamLimits limits_;
  std::size_t delivered_ = 0;
  bool cap_exceeded_ = false;
  bool timed_out_ = false;
  bool reading_request_ = false;  // the first byte of this request was read
  bool detached_ = false;
  HeadRefusal head_refusal_{400, ""};
  std::chrono::steady_clock::time_point deadline_{};
  // Input read and not yet handed to httplib: buf_[buf_pos_, size). httplib's
  // line reader asks for one byte at a time; the buffer turns that into one
  // recv per 4 KiB. A head is read whole into it (at most header_byte_cap
  // plus one recv) before httplib parses it.
  std::string buf_;
  std::size_t buf_pos_ = 0;
  std::string pending_output_;
  std::string remote_ip_;
  int remote_port_ = -1;
  std::string local_ip_;
  int local_port_ = -1;
};

// Waits up to `timeout` for `sock` to become readable (data or EOF).
bool wait_readable(socket_t sock, std::chrono::milliseconds timeout);

// Owns an accepted socket. Closing sends FIN first, then reads and drops
// what the peer still sends until it closes too, for at most `linger` and
// `max_drain` bytes: closing with unread input, or input arriving after the
// close, makes the kernel send RST, and a client still writing a body gets
// that RST as a failed write ("Broken pipe") and never reads the 413/400 we
// wrote before it. A client that reads the answer sees our FIN and closes,
// which ends the drain at once.
class OwnedSocket {
 public:
  explicit OwnedSocket(socket_t sock) : sock_(sock) {}
  ~OwnedSocket();
  OwnedSocket(const OwnedSocket&) = delete;
  OwnedSocket& operator=(const OwnedSocket&) = delete;

  socket_t get() const { return sock_; }
  // Gives the socket up without closing it: the caller owns it now.
  socket_t release() {
    socket_t s = sock_;
    sock_ = INVALID_SOCKET;
    return s;
  }
  // Only closes that may leave unread input (an early 413, a refused head)
  // need it; a clean end of a keep-alive connection closes at once.
  void set_linger(std::chrono::milliseconds linger, std::size_t max_drain) {
    linger_ = linger;
    max_drain_ = max_drain;
  }

 private:
  socket_t sock_;
  std::chrono::milliseconds linger_{0};
  std::size_t max_drain_ = 1u << 20;
};

}  // namespace secretsd::http
