// The socket layer under http::Server's own connection loop. httplib 0.11.4
// buffers a request line, a header line and a chunked body without any bound
// (verified: a 300 MB request line is held in memory), so the byte cap lives
// here, below every httplib parser.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include <httplib.h>

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

class CappedSocketStream final : public httplib::Stream {
 public:
  CappedSocketStream(socket_t sock, StreamLimits limits);

  // Call before each request on a kept-alive connection.
  void start_request();
  bool cap_exceeded() const { return cap_exceeded_; }
  // The request took longer than request_timeout to arrive.
  bool timed_out() const { return timed_out_; }
  // The head had a line ended by a bare LF (which httplib would silently
  // drop, Content-Length included) or outgrew header_byte_cap.
  bool framing_error() const { return framing_error_; }
  // Pipelined bytes already read past the previous request.
  bool has_buffered_input() const { return buf_pos_ < buf_len_; }

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

 private:
  bool fill_buffer();
  // Checks the head bytes about to be delivered; false on a framing error.
  bool check_head(const char* data, std::size_t n);
  // How long the next wait for input may last: the read timeout, or less
  // when the request's deadline is nearer (zero once it has passed).
  std::chrono::milliseconds next_wait() const;
  bool send_all(const char* ptr, size_t size);

  socket_t sock_;
  StreamLimits limits_;
  std::size_t delivered_ = 0;
  bool cap_exceeded_ = false;
  bool timed_out_ = false;
  bool framing_error_ = false;
  bool reading_request_ = false;  // the first byte of this request was read
  // Scanning the head: bytes so far, the last two bytes, whether the blank
  // line that ends it has been seen.
  std::size_t head_bytes_ = 0;
  char head_prev_[2] = {0, 0};
  bool head_done_ = false;
  std::chrono::steady_clock::time_point deadline_{};
  // httplib's line reader asks for one byte at a time; the buffer turns that
  // into one recv per 4 KiB.
  char buf_[4096];
  std::size_t buf_pos_ = 0;
  std::size_t buf_len_ = 0;
  std::string pending_output_;
  std::string remote_ip_;
  int remote_port_ = -1;
  std::string local_ip_;
  int local_port_ = -1;
};

// Waits up to `timeout` for `sock` to become readable (data or EOF).
bool wait_readable(socket_t sock, std::chrono::milliseconds timeout);

// Owns an accepted socket. Closing sends FIN first and drains what the peer
// still sends for up to `linger` (at most `max_drain` bytes): closing with
// unread input makes the kernel send RST, and an RST can make the client
// discard the 413/503 we just wrote before it reads it.
class OwnedSocket {
 public:
  explicit OwnedSocket(socket_t sock) : sock_(sock) {}
  ~OwnedSocket();
  OwnedSocket(const OwnedSocket&) = delete;
  OwnedSocket& operator=(const OwnedSocket&) = delete;

  socket_t get() const { return sock_; }
  // Only closes that may leave unread input (an early 413, a 503) need it;
  // a clean end of a keep-alive connection closes at once.
  void set_linger(std::chrono::milliseconds linger) { linger_ = linger; }

 private:
  socket_t sock_;
  std::chrono::milliseconds linger_{0};
  std::size_t max_drain_ = 1u << 20;
};

}  // namespace secretsd::http
