// Every way a request is refused, in one type, and the one mapping from a
// database error to an HTTP answer (PostgREST's Error module). A stage of a
// request (a reader, an access check, a statement) returns a value or an
// ApiError; the router is the one place that turns either into a reply.
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace pqxx {
class sql_error;
}

namespace secretsd::api {

// A status and a fixed, caller-chosen message: never user input beyond a
// validated name, never exception text. Some refusals carry a header the
// status needs (WWW-Authenticate, Retry-After, Allow).
struct ApiError {
  int status = 500;
  std::string message;
  std::vector<std::pair<std::string, std::string>> headers;

  ApiError() = default;
  ApiError(int status, std::string message) : status(status), message(std::move(message)) {}
  ApiError& with_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
};

// A value or the ApiError that stopped it. value() hands the error to the
// router (thrown, caught by the router alone), so a handler reads as a
// straight line: `auto key = read_key(req).value();`.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(ApiError error) : v_(std::move(error)) {}

  bool ok() const { return std::holds_alternative<T>(v_); }
  const ApiError* error() const { return std::get_if<ApiError>(&v_); }
  T& value() & {
    if (auto* e = std::get_if<ApiError>(&v_)) throw *e;
    return std::get<T>(v_);
  }
  T&& value() && {
    if (auto* e = std::get_if<ApiError>(&v_)) throw *e;
    return std::get<T>(std::move(v_));
  }

 private:
  std::variant<T, ApiError> v_;
};

// What a failed statement means to the caller, by SQLSTATE and the error's
// structured fields, never by its wording. The error's own text is passed
// through only when the extension marked it as written for clients (SCHEMA
// "secrets", TABLE "api": validation and not-found texts that never hold a
// value). `key` is the request's (validated) secret key, for the reference's
// 404/409/412 texts; may be empty.
ApiError from_sql_error(const pqxx::sql_error& error, const std::string& key = {});

// SE009's text: a household role refused the action.
extern const char* const kRoleRefused;

// The secrets reference's texts.
std::string not_found_message(const std::string& key);
std::string already_exists_message(const std::string& key);

}  // namespace secretsd::api
