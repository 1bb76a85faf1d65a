// Registers every route together with who may call it, the way drogon
// declares a route's filters where the route is registered: one check
// (authorize) guards each endpoint, and no handler runs unauthenticated by
// forgetting a call. The table it keeps lists what the server serves.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "auth/access.h"
#include "http/server.h"

namespace secretsd {

struct App;

class Router {
 public:
  // Runs only for an admitted caller (Caller::anonymous() on public routes).
  using Handler = std::function<void(http::Exchange&, const Caller&)>;

  struct Route {
    std::string method;   // "GET", "POST", ...
    std::string pattern;  // httplib's regex, e.g. "/api/secrets/([^/]+)"
    Access access;
  };

  Router(http::Server& server, App& app) : server_(server), app_(app) {}

  Router& get(const std::string& pattern, Access access, Handler handler);
  Router& post(const std::string& pattern, Access access, Handler handler);
  Router& put(const std::string& pattern, Access access, Handler handler);
  Router& patch(const std::string& pattern, Access access, Handler handler);
  Router& del(const std::string& pattern, Access access, Handler handler);

  // For a handler that needs the App but not who called (the access
  // declaration said enough).
  using AppHandler = void (*)(http::Exchange&, App&);
  Handler with_app(AppHandler handler) const {
    return [&app = app_, handler](http::Exchange& ex, const Caller&) { handler(ex, app); };
  }

  // Files under `dir` at `mount_point`, public (GET/HEAD).
  bool mount_static(const std::string& mount_point, const std::string& dir);

  const std::vector<Route>& routes() const { return routes_; }
  App& app() const { return app_; }

 private:
  using Registration = http::Server& (http::Server::*)(const std::string&, http::RouteHandler);

  http::RouteHandler guarded(Access access, Handler handler) const;
  Router& add(Registration registration, const char* method, const std::string& pattern,
              Access access, Handler handler);

  http::Server& server_;
  App& app_;
  std::vector<Route> routes_;
};

}  // namespace secretsd
