#include "auth/router.h"

namespace secretsd {

http::RouteHandler Router::guarded(Access access, Handler handler) const {
  return [&app = app_, access, handler = std::move(handler)](http::Exchange& ex) {
    if (auto caller = authorize(ex, app, access)) handler(ex, *caller);
  };
}

Router& Router::add(Registration registration, const char* method, const std::string& pattern,
                    Access access, Handler handler) {
  (server_.*registration)(pattern, guarded(access, std::move(handler)));
  routes_.push_back({method, pattern, access});
  return *this;
}

bool Router::mount_static(const std::string& mount_point, const std::string& dir) {
  if (!server_.mount_static(mount_point, dir)) return false;
  routes_.push_back({"GET", mount_point + "/(.+)", Access::Public});
  return true;
}

Router& Router::get(const std::string& pattern, Access access, Handler handler) {
  return add(&http::Server::get, "GET", pattern, access, std::move(handler));
}

Router& Router::post(const std::string& pattern, Access access, Handler handler) {
  return add(&http::Server::post, "POST", pattern, access, std::move(handler));
}

Router& Router::put(const std::string& pattern, Access access, Handler handler) {
  return add(&http::Server::put, "PUT", pattern, access, std::move(handler));
}

Router& Router::patch(const std::string& pattern, Access access, Handler handler) {
  return add(&http::Server::patch, "PATCH", pattern, access, std::move(handler));
}

Router& Router::del(const std::string& pattern, Access access, Handler handler) {
  return add(&http::Server::del, "DELETE", pattern, access, std::move(handler));
}

}  // namespace secretsd
