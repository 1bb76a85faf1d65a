// Registers every route together with who may call it, the way drogon
// declares a route's filters where the route is registered: one check
// (authorize) guards each endpoint, and no handler runs unauthenticated by
// forgetting a call. Every handler has one shape, Reply(Request, Caller),
// and the router is the one place that writes a reply: a handler's
// ApiError (returned by a reader's value(), or thrown as is) and a
// database error it did not map are answered here. The table it keeps lists
// what the server serves.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/access.h"
#include "api/reply.h"
#include "api/request.h"

namespace secretsd::http {
class Server;
}

namespace secretsd::api {

class Router {
 public:
  // Runs only for an admitted caller (Caller::anonymous() on public routes).
  using Handler = std::function<Reply(const Request&, const Caller&)>;

  struct Route {
    std::string method;   // "GET", "POST", ...
    std::string pattern;  // an ECMAScript regex over the whole path, e.g. "/api/secrets/([^/]+)"
    Access access;
  };

  Router(http::Server& server, Authenticator& authenticator, AccessPolicy policy);

  Router& get(const std::string& pattern, Access access, Handler handler);  // also HEAD
  Router& post(const std::string& pattern, Access access, Handler handler);
  Router& put(const std::string& pattern, Access access, Handler handler);
  Router& patch(const std::string& pattern, Access access, Handler handler);
  Router& del(const std::string& pattern, Access access, Handler handler);

  // Files under `dir` at `mount_point`, public (GET/HEAD).
  bool mount_static(const std::string& mount_point, const std::string& dir);

  const std::vector<Route>& routes() const { return routes_; }

 private:
  Router& add(const char* method, const std::string& pattern, Access access, Handler handler);

  http::Server& server_;
  Authenticator& authenticator_;
  const AccessPolicy policy_;
  std::vector<Route> routes_;
};

}  // namespace secretsd::api
