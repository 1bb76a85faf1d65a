// A small HTTP(S) client for secretsd on cpp-httplib: one connection per
// command, the caller's credential headers on every request, timeouts, and
// transport failures turned into ClientError(kExitFailure).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "client/config.h"

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

 private:
  const ClientConfig& config_;
  std::unique_ptr<httplib::Client> http_;
};

// Percent-encodes everything but RFC 3986's unreserved characters, so a
// key or node id can never add a path segment or a query parameter.
std::string url_encode(const std::string& text);

}  // namespace secrets_client
