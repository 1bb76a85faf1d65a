#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <optional>


#include "http/ascii.h"
#include "http/json_io.h"
#include "http/socket_stream.h"
#include "http/task_queue.h"

namespace secretsd::http {

namespace {

// httplib gives handlers, its logger and the connection loop no shared
// per-request slot, but all three run on the worker thread that owns the
// connection; this thread-local points at the current request's state for
// exactly that span (bound by serve_connection).
struct RequestScope {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string actor_kind;
  std::string route;  // the matched route's pattern
  std::string failure;  // AccessRecord::failure
  bool close_connection = false;
  // Set by screen_request. A request httplib answered by itself (a bad
  // request line or header, an oversized URI, a bad Range) was never
  // screened, and its body, if any, is still unread on the connection.
  bool screened = false;
  CappedSocketStream* stream = nullptr;
  std::function<void(int fd)> hand_over;  // Exchange::hand_over of this request
};
thread_local RequestScope* t_scope = nullptr;

class ScopeBinding {
 public:
  explicit ScopeBinding(RequestScope& scope) { t_scope = &scope; }
  ~ScopeBinding() { t_scope = nullptr; }
  ScopeBinding(const ScopeBinding&) = delete;
  ScopeBinding& operator=(const ScopeBinding&) = delete;
};

// Answer now and end the connection: whatever body the client is still
// sending must not be parsed as a next request.
void close_after_response(httplib::Response& res) {
  if (t_scope != nullptr) t_scope->close_connection = true;
  res.set_header("Connection", "close");
}

void fail(httplib::Response& res, int status) {
  res.headers.clear();  // drop anything a failed handler had set
  error_response(res, status, default_message(status));
}

// nullopt when present but not a plain decimal number. A second
// Content-Length never gets here (screen_head).
std::optional<std::uint64_t> content_length(const httplib::Request& req) {
  if (!req.has_header("Content-Length")) return 0;
  const std::string v = req.get_header_value("Content-Length");
  if (v.empty() || v.size() > 19 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoull(v);
}

bool is_chunked(const httplib::Request& req) { return req.has_header("Transfer-Encoding"); }

bool method_takes_body(const std::string& m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

enum class BodyRead { Ok, TooLarge, Failed };

BodyRead read_capped_body(const httplib::Request& req, const httplib::ContentReader& reader,
                          std::size_t cap, std::string& out) {
  // RFC 7230 §3.3.3: neither header means no body. httplib 0.11.4 would
  // instead read until the client closes, stalling a keep-alive client.
  if (!is_chunked(req) && !req.has_header("Content-Length")) return BodyRead::Ok;
  bool too_large = false;
  bool ok = reader([&](const char* data, std::size_t n) {
    if (out.size() + n > cap) {
      too_large = true;
      return false;
    }
    out.append(data, n);
    return true;
  });
  if (too_large) return BodyRead::TooLarge;
  return ok ? BodyRead::Ok : BodyRead::Failed;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

// A whole error response for the connection loop to send itself, when no
// httplib::Request exists (a refused head, an overload): the JSON error
// shape, then the connection closes.
std::string canned_response(int status, std::string_view message, std::string_view extra_headers = "") {
  const std::string body = nlohmann::json{{"statusCode", status}, {"message", message}}.dump();
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n" +
         "Content-Type: application/json\r\n"
         "Content-Length: " + std::to_string(body.size()) + "\r\n" + std::string(extra_headers) +
         "Cache-Control: no-store\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "Connection: close\r\n"
         "\r\n" + body;
}

}  // namespace

Server::Server(ServerOptions options, AccessLog* access_log)
    : options_(options), access_log_(access_log) {
  // httplib owns and deletes the queue it gets from new_task_queue (a
  // std::function returning a raw TaskQueue*): the one raw new here.
  new_task_queue = [opts = options_] {
    return new BoundedTaskQueue(opts.worker_threads, opts.max_pending_connections);
  };
  // What the Keep-Alive header announces; serve_connection enforces it.
  set_keep_alive_max_count(std::max<std::size_t>(1, options_.keep_alive_max_requests));
  install_hooks();
}

Server::~Server() { stop(); }

void Server::install_hooks() {
  // Only httplib's own Content-Length check reads this; chunked bodies and
  // everything else are capped by body_route() and CappedSocketStream.
  set_payload_max_length(options_.max_body_bytes);
  set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});

  set_pre_routing_handler(
      [this](const httplib::Request& req, httplib::Response& res) { return screen_request(req, res); });

  set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    fail(res, 500);
    if (t_scope != nullptr) t_scope->failure = "exception outside a route";
  });

  set_error_handler(HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> HandlerResponse {
        if (!res.body.empty()) return HandlerResponse::Unhandled;
        error_response(res, res.status, default_message(res.status));
        return HandlerResponse::Handled;
      }));

  set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    log_request(req, res);
  });
}

// Runs before httplib reads any body, so refusing here costs no reading.
httplib::Server::HandlerResponse Server::screen_request(const httplib::Request& req,
                                                        httplib::Response& res) const {
  auto reject = [&res](int status) {
    close_after_response(res);
    error_response(res, status, default_message(status));
    return HandlerResponse::Handled;
  };
  if (t_scope != nullptr) t_scope->screened = true;
  auto length = content_length(req);
  bool chunked = is_chunked(req);
  if (!length) return reject(400);
  // Ambiguous framing, the classic smuggling vector (a second
  // Transfer-Encoding never gets here: screen_head).
  if (chunked && (req.has_header("Content-Length") || !ascii_iequals(req.get_header_value("Transfer-Encoding"), "chunked"))) {
    return reject(400);
  }
  bool has_body = chunked || *length > 0;
  if (has_body && !method_takes_body(req.method)) return reject(400);
  // httplib never reads a chunked DELETE body: it would stay on the
  // connection and be parsed as the next request.
  if (chunked && req.method == "DELETE") return reject(411);
  // Unless a Content-Length framed it, what a body method sends must not
  // outlive this request: httplib's chunked decoder is lenient (a chunk not
  // followed by CRLF ends the body), and a body method with neither header
  // has no body (RFC 7230 3.3.3) even if the client meant one.
  if (method_takes_body(req.method) && (chunked || !req.has_header("Content-Length"))) {
    close_after_response(res);
  }
  if (has_body && req.has_header("Content-Encoding") &&
      !ascii_iequals(req.get_header_value("Content-Encoding"), "identity")) {
    return reject(415);  // no decompression bombs
  }
  if (*length > options_.max_body_bytes) return reject(413);

  // GET/HEAD also serve static mounts, which httplib resolves itself.
  if (req.method == "GET" || req.method == "HEAD") return HandlerResponse::Unhandled;

  bool path_known = false;
  for (const auto& route : routes_) {
    if (!std::regex_match(req.path, route.pattern)) continue;
    if (route.method == req.method) return HandlerResponse::Unhandled;
    path_known = true;
  }
  if (has_body) close_after_response(res);
  int status = path_known ? 405 : 404;
  error_response(res, status, default_message(status));
  return HandlerResponse::Handled;
}

void Server::record(const AccessRecord& record) const {
  if (observer_) observer_(record);
  if (access_log_ != nullptr) access_log_->write(record);
}

void Server::log_request(const httplib::Request& req, const httplib::Response& res) const {
  if (access_log_ == nullptr && !observer_) return;
  AccessRecord record;
  record.time = std::chrono::system_clock::now();
  record.method = req.method;
  record.path = req.path;  // never req.target: that carries the query string
  record.status = res.status;
  record.remote_addr = req.remote_addr;
  if (t_scope != nullptr) {
    record.duration_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - t_scope->start)
                             .count();
    record.actor_kind = t_scope->actor_kind;
    record.route = t_scope->route;
    record.failure = t_scope->failure;
  }
  this->record(record);
}

void Server::answer_failure(httplib::Response& res, const std::exception& e) const {
  Failure failure = classify_failure_ ? classify_failure_(e) : Failure{};
  fail(res, failure.unavailable ? 503 : 500);
  if (failure.unavailable) res.set_header("Retry-After", "1");
  if (t_scope != nullptr) t_scope->failure = failure.label.empty() ? "exception" : failure.label;
}

void Server::run_guarded(const RouteHandler& handler, Exchange& ex) const {
  try {
    handler(ex);
  } catch (const std::exception& e) {
    answer_failure(ex.res, e);
  } catch (...) {
    fail(ex.res, 500);
    if (t_scope != nullptr) t_scope->failure = "non-standard exception";
  }
  if (t_scope != nullptr) t_scope->actor_kind = ex.actor_kind;
  // Shutting down: this response is the connection's last, and says so, so
  // a keep-alive client does not send another request into the close.
  if (stopping()) close_after_response(ex.res);
}

httplib::Server::Handler Server::plain_route(RouteHandler handler, std::string pattern) const {
  return [this, handler, pattern](const httplib::Request& req, httplib::Response& res) {
    if (t_scope != nullptr) t_scope->route = pattern;
    Exchange ex{req, res, {}, {}, {}};
    run_guarded(handler, ex);
    if (ex.hand_over && t_scope != nullptr && t_scope->stream != nullptr && !stopping()) {
      t_scope->stream->detach();
      t_scope->hand_over = std::move(ex.hand_over);
    }
  };
}

httplib::Server::HandlerWithContentReader Server::body_route(RouteHandler handler,
                                                             std::string pattern) const {
  return [this, handler, pattern](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
    if (t_scope != nullptr) t_scope->route = pattern;
    Exchange ex{req, res, {}, {}, {}};
    switch (read_capped_body(req, reader, options_.max_body_bytes, ex.body)) {
      case BodyRead::TooLarge:
        close_after_response(res);
        error_response(res, 413, default_message(413));
        return;
      case BodyRead::Failed: {
        close_after_response(res);
        const CappedSocketStream* stream = t_scope != nullptr ? t_scope->stream : nullptr;
        // Chunk framing can outgrow the stream's byte cap before the
        // decoded body reaches max_body_bytes (1-byte chunks): still 413.
        const int status = stream != nullptr && stream->cap_exceeded() ? 413
                           : stream != nullptr && stream->timed_out()  ? 408
                                                                       : 400;
        error_response(res, status, default_message(status));
        return;
      }
      case BodyRead::Ok:
        break;
    }
    run_guarded(handler, ex);
  };
}

void Server::add_route(const std::string& method, const std::string& pattern) {
  routes_.push_back({method, std::regex(pattern), pattern});
}

std::vector<Server::RouteInfo> Server::routes() const {
  std::vector<RouteInfo> out;
  for (const auto& route : routes_) out.push_back({route.method, route.source});
  for (const auto& mount : mounts_) {
    out.push_back({"GET", mount + "/(.+)"});
    out.push_back({"HEAD", mount + "/(.+)"});
  }
  return out;
}

Server& Server::get(const std::string& pattern, RouteHandler handler) {
  add_route("GET", pattern);
  add_route("HEAD", pattern);
  Get(pattern, plain_route(std::move(handler), pattern));
  return *this;
}

Server& Server::post(const std::string& pattern, RouteHandler handler) {
  add_route("POST", pattern);
  Post(pattern, body_route(std::move(handler), pattern));
  return *this;
}

Server& Server::put(const std::string& pattern, RouteHandler handler) {
  add_route("PUT", pattern);
  Put(pattern, body_route(std::move(handler), pattern));
  return *this;
}

Server& Server::patch(const std::string& pattern, RouteHandler handler) {
  add_route("PATCH", pattern);
  Patch(pattern, body_route(std::move(handler), pattern));
  return *this;
}

Server& Server::del(const std::string& pattern, RouteHandler handler) {
  add_route("DELETE", pattern);
  Delete(pattern, body_route(std::move(handler), pattern));
  return *this;
}

Server& Server::options(const std::string& pattern, RouteHandler handler) {
  add_route("OPTIONS", pattern);
  Options(pattern, plain_route(std::move(handler), pattern));
  return *this;
}

bool Server::mount_static(const std::string& mount_point, const std::string& dir) {
  if (!set_mount_point(mount_point, dir)) return false;
  mounts_.push_back(mount_point);
  return true;
}

bool Server::listen(const std::string& host, int port) { return httplib::Server::listen(host, port); }
int Server::bind_to_any_port(const std::string& host) { return httplib::Server::bind_to_any_port(host); }
bool Server::bind(const std::string& host, int port) { return bind_to_port(host, port); }
bool Server::listen_after_bind() { return httplib::Server::listen_after_bind(); }
void Server::stop() { httplib::Server::stop(); }
bool Server::is_running() const { return httplib::Server::is_running(); }

// ------------------------------------------------------- connection loop
//
// Replaces httplib's process_and_close_socket (same keep-alive logic as
// 0.11.4's process_server_socket_core) so that the socket is read through
// CappedSocketStream and an early answer can end the connection.

bool Server::process_and_close_socket(socket_t sock) {
  if (BoundedTaskQueue::running_as_overflow()) {
    refuse_overloaded(sock);
  } else {
    serve_connection(sock);
  }
  return true;
}

void Server::refuse_overloaded(socket_t sock) {
  OwnedSocket owned(sock);
  // A fresh socket's send buffer is empty: this write completes at once.
  static const std::string response = canned_response(503, default_message(503), "Retry-After: 1\r\n");
  ::send(sock, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // No linger: refusals run one after another, so a crowd of idle
  // connections must not make each one cost the linger time (the close
  // still reads what the client has already sent).
  if (access_log_ != nullptr || observer_) {
    CappedSocketStream peer(sock, {});
    AccessRecord record;
    record.time = std::chrono::system_clock::now();
    record.status = 503;
    int port = 0;
    peer.get_remote_ip_and_port(record.remote_addr, port);
    this->record(record);
  }
}

bool Server::wait_for_next_request(const CappedSocketStream& stream, socket_t sock) const {
  if (stream.has_buffered_input()) return true;
  // Poll in slices so that stop() is noticed well before the keep-alive
  // timeout runs out.
  const auto slice = std::chrono::milliseconds(100);
  auto deadline = std::chrono::steady_clock::now() + options_.keep_alive_timeout;
  while (svr_sock_ != INVALID_SOCKET) {
    if (wait_readable(sock, slice)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
  return false;
}

// Refusals of a head are answered here, before httplib parses a byte of it
// (so no handler runs and no "100 Continue" goes out), and end the
// connection: what follows a head that was not understood cannot be framed.
bool Server::read_screened_head(CappedSocketStream& stream, OwnedSocket& owned) const {
  const auto start = std::chrono::steady_clock::now();
  int status = 0;
  std::string_view message;
  switch (stream.read_head()) {
    case HeadStatus::Ready:
      return true;
    case HeadStatus::Closed:
      return false;
    case HeadStatus::TimedOut:
      status = 408;
      message = default_message(408);
      break;
    case HeadStatus::Refused:
      status = stream.head_refusal().status;
      message = stream.head_refusal().message;
      break;
  }
  const std::string response = canned_response(status, message);
  stream.write(response.data(), response.size());
  stream.flush();
  owned.set_linger(options_.close_linger, options_.close_drain_bytes);
  if (access_log_ != nullptr) {
    AccessRecord record;
    record.time = std::chrono::system_clock::now();
    record.status = status;
    record.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    int port = 0;
    stream.get_remote_ip_and_port(record.remote_addr, port);
    access_log_->write(record);
  }
  return false;
}

void Server::serve_connection(socket_t sock) {
  OwnedSocket owned(sock);
  // httplib writes a response's head and body in separate send()s; with
  // Nagle on, the body waits for the client's delayed ACK (~40 ms a request,
  // measured in bench/README.md).
  int one = 1;
  ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  StreamLimits limits;
  limits.read_timeout = options_.read_timeout;
  limits.write_timeout = options_.write_timeout;
  limits.request_timeout = options_.request_timeout;
  limits.header_byte_cap = options_.max_header_bytes;
  // Chunk framing adds a few bytes per chunk on top of the decoded body.
  limits.request_byte_cap = options_.max_header_bytes + 2 * options_.max_body_bytes + 4096;
  CappedSocketStream stream(sock, limits);

  const std::size_t max_requests = std::max<std::size_t>(1, options_.keep_alive_max_requests);
  for (std::size_t served = 0; served < max_requests; ++served) {
    if (!wait_for_next_request(stream, sock)) return;
    RequestScope scope;
    scope.stream = &stream;
    ScopeBinding binding(scope);
    stream.start_request();
    if (!read_screened_head(stream, owned)) return;
    bool last = served + 1 == max_requests;
    bool client_closes = false;
    // Ranges are ignored: a Range header listing thousands of overlapping
    // ranges would make httplib build a response many times the file.
    bool ok = process_request(stream, last, client_closes, [](httplib::Request& req) { req.ranges.clear(); });
    if (scope.hand_over) {
      scope.hand_over(owned.release());
      return;
    }
    ok = stream.flush() && ok;
    if (!scope.screened || scope.close_connection || stream.cap_exceeded() || stream.timed_out()) {
      owned.set_linger(options_.close_linger, options_.close_drain_bytes);
      return;
    }
    if (!ok || client_closes) return;
  }
}

}  // namespace secretsd::http
