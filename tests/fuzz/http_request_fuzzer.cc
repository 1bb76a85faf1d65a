// The HTTP request screen and body framing: bytes go through the same path
// as a client's, into http::Server's own connection loop (serve_connection:
// CappedSocketStream under httplib's request parser, then screen_request
// and the capped body reader), over one end of a socketpair whose other end
// holds the input and is then shut. cpp-httplib's own fuzzer
// (test/fuzzing/server_fuzzer.cc) feeds a Stream subclass into
// process_request; feeding the socket instead keeps our stream in the path.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>

#include "http/json_io.h"
#include "http/server.h"

namespace secretsd::http {

// The friend server.h names: the one door to the private connection loop.
struct ServerFuzzAccess {
  static void serve(Server& server, int sock) { server.serve_connection(sock); }
};

}  // namespace secretsd::http

using namespace secretsd::http;

namespace {

std::unique_ptr<Server> make_server() {
  ServerOptions options;
  options.max_body_bytes = 4096;
  options.max_header_bytes = 2048;
  options.read_timeout = std::chrono::milliseconds(50);
  options.write_timeout = std::chrono::milliseconds(50);
  options.request_timeout = std::chrono::milliseconds(200);
  options.keep_alive_timeout = std::chrono::seconds(0);
  options.keep_alive_max_requests = 8;
  options.close_linger = std::chrono::milliseconds(0);
  auto server = std::make_unique<Server>(options);
  auto echo = [](Exchange& ex) {
    json_response(ex.res, 200, {{"bytes", ex.body.size()}});
  };
  auto parse = [](Exchange& ex) {
    if (!parse_json_object(ex.body)) return error_response(ex.res, 400, "Invalid JSON");
    json_response(ex.res, 200, {{"ok", true}});
  };
  server->get("/api/secrets", echo)
      .post("/api/secrets", parse)
      .put(R"(/api/secrets/([A-Z][A-Z0-9_]*))", parse)
      .patch("/api/settings", echo)
      .del(R"(/api/secrets/([A-Z][A-Z0-9_]*))", echo)
      .options("/api/secrets", echo)
      .get("/throws", [](Exchange&) { throw std::runtime_error("never sent"); });
  // The connection loop waits for input only while the server owns a
  // listening socket; it is bound once and never accepts.
  if (server->bind_to_any_port("127.0.0.1") <= 0) std::abort();
  return server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Server> server = make_server();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) std::abort();
  int buf = 1 << 20;
  setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  size_t off = 0;
  while (off < size) {
    ssize_t n = ::send(fds[0], data + off, size - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // larger than the socket buffers: serve what fits
    off += static_cast<size_t>(n);
  }
  ::shutdown(fds[0], SHUT_WR);
  ServerFuzzAccess::serve(*server, fds[1]);  // closes fds[1]
  ::close(fds[0]);
  return 0;
}
