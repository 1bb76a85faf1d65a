#include "api/router.h"

#include "http/server.h"

namespace secretsd::api {
namespace {

void write(Reply&& reply, http::Exchange& ex) {
  if (!reply.actor_kind.empty()) ex.actor_kind = reply.actor_kind;
  // A stream's reply is what the client gets if the server stops before
  // the hand-over.
  if (reply.take_over) ex.hand_over = reply.take_over;
  ex.res.status = reply.status;
  for (const auto& [name, value] : reply.headers) ex.res.set_header(name, value);
  if (reply.status == 204) {
    ex.res.body.clear();
  } else if (!reply.content_type.empty()) {
    // What set_content does, without copying the body (it may hold a value).
    ex.res.body = std::move(reply.body);
    ex.res.headers.erase("Content-Type");
    ex.res.set_header("Content-Type", reply.content_type);
  }
}

// A handler's whole run: admission, the handler, and every refusal it
// raised. Any other exception passes on to the transport, whose failure
// classifier answers 503 (unavailable) or a generic 500.
Reply run(const Request& req, Access access, Authenticator& authenticator,
          const AccessPolicy& policy, const Router::Handler& handler, std::string& actor_kind) {
  try {
    auto caller = authorize(req, access, authenticator, policy, actor_kind);
    return handler(req, caller.value());
  } catch (const ApiError& error) {
    return Reply::error(error);
  }
}

}  // namespace

const char* access_name(Access access) {
  switch (access) {
    case Access::Public: return "public";
    case Access::AnyCaller: return "any-caller";
    case Access::User: return "user";
    case Access::App: return "app";
    case Access::Admin: return "admin";
    case Access::Household: return "household";
    case Access::Metrics: return "metrics";
  }
  return "unknown";
}

Router::Router(http::Server& server, Authenticator& authenticator, AccessPolicy policy)
    : server_(server), authenticator_(authenticator), policy_(std::move(policy)) {}

Router& Router::add(const char* method, const std::string& pattern, Access access,
                    Handler handler) {
  http::RouteHandler route = [this, access, handler = std::move(handler)](http::Exchange& ex) {
    const Request req(ex.req, ex.body);
    write(run(req, access, authenticator_, policy_, handler, ex.actor_kind), ex);
  };
  const std::string m = method;
  if (m == "GET") server_.get(pattern, std::move(route));
  if (m == "POST") server_.post(pattern, std::move(route));
  if (m == "PUT") server_.put(pattern, std::move(route));
  if (m == "PATCH") server_.patch(pattern, std::move(route));
  if (m == "DELETE") server_.del(pattern, std::move(route));
  routes_.push_back({method, pattern, access});
  return *this;
}

bool Router::mount_static(const std::string& mount_point, const std::string& dir) {
  if (!server_.mount_static(mount_point, dir)) return false;
  routes_.push_back({"GET", mount_point + "/(.+)", Access::Public});
  return true;
}

Router& Router::get(const std::string& pattern, Access access, Handler handler) {
  return add("GET", pattern, access, std::move(handler));
}
Router& Router::post(const std::string& pattern, Access access, Handler handler) {
  return add("POST", pattern, access, std::move(handler));
}
Router& Router::put(const std::string& pattern, Access access, Handler handler) {
  return add("PUT", pattern, access, std::move(handler));
}
Router& Router::patch(const std::string& pattern, Access access, Handler handler) {
  return add("PATCH", pattern, access, std::move(handler));
}
Router& Router::del(const std::string& pattern, Access access, Handler handler) {
  return add("DELETE", pattern, access, std::move(handler));
}

}  // namespace secretsd::api
