// A hardened wrapper around httplib::Server (cpp-httplib 0.11.4).
//
// What it fixes, each verified against Debian's libcpp-httplib 0.11.4:
// - chunked request bodies are not bounded by set_payload_max_length (a
//   10 MiB chunked POST reached a handler with a 1 KiB limit), and neither
//   are the request line or headers (a 300 MB request line was buffered):
//   this class runs its own connection loop over CappedSocketStream, reads
//   every body through a capped ContentReader (413 + close), and caps the
//   bytes httplib may read per request;
// - a handler that fails a body read leaves the rest of the body on the
//   connection, where httplib parses it as further requests: any early
//   answer here closes the connection instead;
// - header values are percent-decoded and read as C strings (cut at NUL),
//   and "Name : v" or folded lines are kept: every head is read whole and
//   screened as raw bytes first (head_screen.h), refusals answered here;
// - an early close over unread input resets the connection, and a client
//   still sending never reads the 413: OwnedSocket drains before closing;
// - exception text leaks in an EXCEPTION_WHAT response header: handlers run
//   guarded and an exception handler answers a generic 500;
// - errors without a body get a JSON body; the thread pool's backlog is
//   bounded (BoundedTaskQueue) and overload is answered 503 at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <regex>
#include <string>
#include <vector>

#include <httplib.h>

#include "http/access_log.h"

namespace secretsd::http {

class CappedSocketStream;
class OwnedSocket;

struct ServerOptions {
  std::size_t worker_threads = 8;
  std::size_t max_pending_connections = 64;  // accepted, waiting for a worker
  std::size_t max_body_bytes = 1u << 20;     // decoded request body
  std::size_t max_header_bytes = 64u << 10;  // request line + headers
  std::chrono::milliseconds read_timeout{5000};
  std::chrono::milliseconds write_timeout{5000};
  // Longest time to receive one whole request (line, headers and body) from
  // its first byte. read_timeout bounds each wait; this bounds their sum, so
  // a client trickling a byte every few seconds cannot hold a worker.
  std::chrono::milliseconds request_timeout{15000};
  std::chrono::seconds keep_alive_timeout{5};
  // nginx's default since 1.19.10: a client that races a close is rare.
  std::size_t keep_alive_max_requests = 1000;
  // How long, and how many bytes, an early close (413, a refused head, ...)
  // drains the peer's leftover input so that the response is not lost to a
  // TCP reset (OwnedSocket). A client that reads the answer closes at once;
  // the bounds only hold back one that keeps sending: what it has in flight
  // on loopback (socket buffers autotune to several MiB) must fit.
  std::chrono::milliseconds close_linger{2000};
  std::size_t close_drain_bytes = 16u << 20;
};

// What a route handler sees. `body` is the complete, size-checked request
// body (empty for GET/HEAD/OPTIONS and for requests without one).
struct Exchange {
  const httplib::Request& req;
  httplib::Response& res;
  std::string body;
  // Set by the handler once it knows who is calling ("user", "node",
  // "app", "admin"); written to the access log, never sent to the client.
  std::string actor_kind;
  // Set by a handler that takes the connection over (a long-lived stream):
  // the response is not written, and once httplib is done with the request
  // the connection loop gives up the socket and calls hand_over(fd) on the
  // worker thread, which returns to serve others. The callee owns the fd.
  std::function<void(int fd)> hand_over;
};

// Sees every answered request (metrics); called on the worker thread.
using RequestObserver = std::function<void(const AccessRecord&)>;

// A handler may throw: what the failure classifier calls unavailable
// becomes 503 with Retry-After, anything else a generic 500; exception text
// is never sent or logged.
using RouteHandler = std::function<void(Exchange&)>;

// What the transport learns of a handler's exception from the layer that
// threw it (main() passes db::classify_failure): whether "a backing service
// is unavailable, retry soon", and a label for the access log that names the
// failure without its text ("sqlstate 40P01", "pool timeout"). The transport
// knows no other layer's exception types.
struct Failure {
  bool unavailable = false;
  std::string label;
};
using FailureClassifier = std::function<Failure(const std::exception&)>;

// Private inheritance: callers cannot register raw httplib handlers that
// would bypass the body cap.
class Server : private httplib::Server {
 public:
  // `access_log` may be null (no access log); it must outlive the server.
  explicit Server(ServerOptions options = {}, AccessLog* access_log = nullptr);
  ~Server() override;

  // Patterns are httplib's: ECMAScript regexes matched against the whole
  // path; captures land in ex.req.matches.
  Server& get(const std::string& pattern, RouteHandler handler);  // also serves HEAD
  Server& post(const std::string& pattern, RouteHandler handler);
  Server& put(const std::string& pattern, RouteHandler handler);
  Server& patch(const std::string& pattern, RouteHandler handler);
  Server& del(const std::string& pattern, RouteHandler handler);
  Server& options(const std::string& pattern, RouteHandler handler);

  // Serves files under `dir` at `mount_point` (GET/HEAD only).
  bool mount_static(const std::string& mount_point, const std::string& dir);

  // Blocking; returns when stop() is called (or binding fails).
  bool listen(const std::string& host, int port);
  // Two-step start, e.g. port 0 in tests: bind, then listen_after_bind()
  // on a thread of the caller's.
  int bind_to_any_port(const std::string& host);
  bool bind(const std::string& host, int port);
  bool listen_after_bind();

  // Safe from any thread. Join the listening thread before destroying.
  void stop();
  bool is_running() const;

  const ServerOptions& settings() const { return options_; }

  // The registered routes, in registration order, HEAD listed beside each
  // GET; static mounts as GET and HEAD of "<mount>/(.+)". Read-only: the
  // OpenAPI route-coverage test compares them with the document.
  struct RouteInfo {
    std::string method;
    std::string pattern;  // as registered
  };
  std::vector<RouteInfo> routes() const;

  // Set before listening.
  void set_request_observer(RequestObserver observer) { observer_ = std::move(observer); }
  void set_failure_classifier(FailureClassifier classify) { classify_failure_ = std::move(classify); }

 private:
  // tests/fuzz/http_request_fuzzer.cc feeds bytes to serve_connection.
  friend struct ServerFuzzAccess;

  struct Route {
    std::string method;
    std::regex pattern;
    std::string source;
  };

  bool process_and_close_socket(socket_t sock) override;
  void serve_connection(socket_t sock);
  void refuse_overloaded(socket_t sock);
  bool wait_for_next_request(const CappedSocketStream& stream, socket_t sock) const;
  // False when the connection must end: the head was refused (answered
  // here), timed out (408) or never came.
  bool read_screened_head(CappedSocketStream& stream, OwnedSocket& owned) const;

  void install_hooks();
  HandlerResponse screen_request(const httplib::Request& req, httplib::Response& res) const;
  void log_request(const httplib::Request& req, const httplib::Response& res) const;
  void record(const AccessRecord& record) const;
  bool stopping() const { return svr_sock_ == INVALID_SOCKET; }
  void add_route(const std::string& method, const std::string& pattern);
  void run_guarded(const RouteHandler& handler, Exchange& ex) const;
  void answer_failure(httplib::Response& res, const std::exception& e) const;
  httplib::Server::Handler plain_route(RouteHandler handler, std::string pattern) const;
  httplib::Server::HandlerWithContentReader body_route(RouteHandler handler,
                                                       std::string pattern) const;

  ServerOptions options_;
  AccessLog* access_log_;
  RequestObserver observer_;
  FailureClassifier classify_failure_;
  std::vector<Route> routes_;
  std::vector<std::string> mounts_;  // only for routes()
};

}  // namespace secretsd::http
