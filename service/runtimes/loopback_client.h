// The runtimes' HTTP client: a restart URL's POST and a health URL's GET,
// on loopback only (runtimes/runtimes.h: parse_loopback_url). The one file
// of a feature module that includes cpp-httplib, because it is a client
// transport, not the server's: nothing else here touches HTTP.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "runtimes/runtimes.h"

namespace secretsd::runtimes {

// The HTTP status of the answer, or nullopt when none came (refused,
// unreachable, or `timeout` passed while connecting, writing or reading).
std::optional<int> loopback_post(const LoopbackUrl& url, const std::string& json_body,
                                 std::chrono::milliseconds timeout);
std::optional<int> loopback_get(const LoopbackUrl& url, std::chrono::milliseconds timeout);

}  // namespace secretsd::runtimes
