// The transport's outgoing side: one plain-HTTP request to a local service
// (a runtime's restart or health URL; runtimes/runtimes.h decides which
// addresses are allowed). Here, beside the server, so that cpp-httplib stays
// inside the transport.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace secretsd::http {

struct Target {
  std::string host;  // an address to connect to, e.g. "127.0.0.1" or "::1"
  int port = 80;
  std::string path;  // with query, at least "/"
};

// The HTTP status of the answer, or nullopt when none came (refused,
// unreachable, or `timeout` passed while connecting, writing or reading).
std::optional<int> post_json(const Target& target, const std::string& json_body,
                             std::chrono::milliseconds timeout);
std::optional<int> get(const Target& target, std::chrono::milliseconds timeout);

}  // namespace secretsd::http
