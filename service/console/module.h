// The web console: GET /settings and its static files under /static, from
// SECRETSD_WEB_DIR. Served with a strict Content-Security-Policy.
#pragma once

#include <optional>
#include <string>

namespace secretsd::api {
class Router;
}

namespace secretsd::console {

class ConsoleModule {
 public:
  // Reads the page once, at start: it is small and never changes while
  // running. Without settings.html in `web_dir` nothing is served.
  explicit ConsoleModule(const std::string& web_dir);

  bool available() const { return page_.has_value(); }
  void register_routes(api::Router& router);

 private:
  const std::string web_dir_;
  std::optional<std::string> page_;
};

}  // namespace secretsd::console
