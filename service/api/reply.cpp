#include "api/reply.h"

namespace secretsd::api {
namespace {

// replace: a handler that somehow put bad bytes in must not turn a reply
// into an exception (and the exception into a 500).
template <typename Json>
std::string dump(const Json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Reply Reply::json(int status, const nlohmann::json& body) {
  return text(status, dump(body), "application/json");
}

Reply Reply::data(nlohmann::json data) {
  return json(200, {{"data", std::move(data)}});
}

Reply Reply::no_content() {
  Reply reply;
  reply.status = 204;
  return reply;
}

Reply Reply::error(const ApiError& error) {
  // ordered_json: the reference documents statusCode first.
  nlohmann::ordered_json body = {{"statusCode", error.status}, {"message", error.message}};
  Reply reply = text(error.status, dump(body), "application/json");
  reply.headers = error.headers;
  return reply;
}

Reply Reply::text(int status, std::string body, std::string content_type) {
  Reply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.content_type = std::move(content_type);
  return reply;
}

}  // namespace secretsd::api
