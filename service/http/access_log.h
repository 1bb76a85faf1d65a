// One JSON line per request. Only the fields below are ever written: never
// bodies, headers, query strings or tokens.
#pragma once

#include <chrono>
#include <mutex>
#include <ostream>
#include <string>

namespace secretsd::http {

struct AccessRecord {
  std::chrono::system_clock::time_point time;
  std::string method;
  std::string path;  // httplib's req.path: the query string is not part of it
  int status = 0;
  double duration_ms = 0;
  std::string remote_addr;
  std::string actor_kind;  // empty when no handler identified the caller
  // The pattern of the route that answered, as registered (never the path);
  // empty when none did (404, static files, refusals). Not written to the
  // access log: metrics label requests with it.
  std::string route;
  // Why a handler failed (a 500/503): a label such as "sqlstate 40P01" or
  // "pool timeout", never the exception's text, which can quote values.
  std::string failure;
};

// {"time":"2024-01-02T03:04:05.678Z","method":"GET","path":"/api/secrets/K",
//  "status":200,"duration_ms":1.234,"remote_addr":"127.0.0.1","actor":"user"}
// "actor" and "failure" are omitted when empty. No trailing newline. Never throws on odd
// bytes: invalid UTF-8 is replaced, over-long fields are truncated.
std::string format_access_line(const AccessRecord& record);

// Thread-safe line writer over a caller-owned stream (std::cout in the
// service, a std::ostringstream in tests); the stream must outlive it.
class AccessLog {
 public:
  explicit AccessLog(std::ostream& out) : out_(out) {}
  void write(const AccessRecord& record);
  // Another JSON line (e.g. a database event), never interleaved with requests'.
  void write_line(const std::string& line);

 private:
  std::mutex mutex_;
  std::ostream& out_;
};

}  // namespace secretsd::http
