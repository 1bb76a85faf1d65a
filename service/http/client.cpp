#include "http/client.h"

#include <httplib.h>

namespace secretsd::http {
namespace {

void set_timeouts(httplib::Client& client, std::chrono::milliseconds t) {
  const auto sec = static_cast<time_t>(t.count() / 1000);
  const auto usec = static_cast<time_t>((t.count() % 1000) * 1000);
  client.set_connection_timeout(sec, usec);
  client.set_read_timeout(sec, usec);
  client.set_write_timeout(sec, usec);
}

}  // namespace

std::optional<int> post_json(const Target& url, const std::string& json_body,
                                 std::chrono::milliseconds timeout) {
  httplib::Client client(url.host, url.port);
  set_timeouts(client, timeout);
  auto res = client.Post(url.path.c_str(), json_body, "application/json");
  if (!res) return std::nullopt;
  return res->status;
}

std::optional<int> get(const Target& url, std::chrono::milliseconds timeout) {
  httplib::Client client(url.host, url.port);
  set_timeouts(client, timeout);
  auto res = client.Get(url.path.c_str());
  if (!res) return std::nullopt;
  return res->status;
}

}  // namespace secretsd::http
