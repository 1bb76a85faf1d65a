// What a handler answers. The router writes it to the transport: the one
// place a response is written.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/error.h"

namespace secretsd::api {

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set by a handler that takes the connection over (a long-lived stream):
  // once the transport is done with the request it hands the socket to
  // this callee, which owns it from then on; the reply itself is sent only
  // if the server stops before the hand-over.
  std::function<void(int fd)> take_over;
  // The access log's "actor" when the handler itself identified the caller
  // on a public route (a sign-in names a user); empty: the router's.
  std::string actor_kind;

  // Writes `body` as JSON (invalid UTF-8 replaced, never thrown).
  static Reply json(int status, const nlohmann::json& body);
  // 200 {"data": data}: the envelope of the secrets reference.
  static Reply data(nlohmann::json data);
  static Reply no_content();
  // {"statusCode": N, "message": "..."} with the error's headers.
  static Reply error(const ApiError& error);
  static Reply text(int status, std::string body, std::string content_type);

  Reply& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Reply& with_actor_kind(std::string kind) {
    actor_kind = std::move(kind);
    return *this;
  }
};

}  // namespace secretsd::api
