// A small HTTP(S) client for secretsd on cpp-httplib: one connection per
// command, the caller's credential headers on every request, timeouts, and
// transport failures turned into ClientError(kExitFailure).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "secrets_cli/config.h"

namespace httplib {
class Client;
}

namespace secrets_client {

struct Response {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(const ClientConfig& config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `path` starts with "/api/..." and is already percent-encoded; a body is
  // sent as application/json. Throws ClientError(kExitFailure) when no
  // answer arrives.
  Response send(const std::string& method, const std::string& path,
                const std::optional<std::string>& json_body = std::nullopt);

  // GET of a long-lived response (the change stream): `on_bytes` receives
  // the body as it arrives and returns false to end it. Returns the status
  // (0 when the connection failed or dropped before a response; a stream
  // that ends after a 200 returns 200). Other statuses come with their body
  // in `error_body`. `extra` headers are added (Last-Event-ID).
  int stream(const std::string& path, const std::vector<std::pair<std::string, std::string>>& extra,
             const std::function<bool(const char*, std::size_t)>& on_bytes, std::string& error_body);
  // Ends a stream() running on another thread (closes its socket).
  void stop();

 private:
  const ClientConfig& config_;
  std::unique_ptr<httplib::Client> http_;
};

// Percent-encodes everything but RFC 3986's unreserved characters, so a
// key or node id can never add a path segment or a query parameter.
std::string url_encode(const std::string& text);

}  // namespace secrets_client
