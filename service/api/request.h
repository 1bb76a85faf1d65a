// What a handler reads of a request. A view of the transport's request:
// handlers never see cpp-httplib, and the readers below are the one place
// that interprets raw header and query text.
#pragma once

#include <cstddef>
#include <string>

namespace httplib {
struct Request;
}

namespace secretsd::api {

class Request {
 public:
  Request(const httplib::Request& raw, const std::string& body) : raw_(raw), body_(body) {}

  const std::string& method() const;
  const std::string& path() const;
  // The n-th capture of the route's pattern (1-based), or "" when absent.
  std::string path_capture(std::size_t n) const;
  bool has_header(const char* name) const;
  std::string header(const char* name) const;  // "" when absent (the first of several)
  std::size_t header_count(const char* name) const;
  bool has_query(const char* name) const;
  std::string query(const char* name) const;  // "" when absent
  // How many times the query names `name` (a repeated filter is refused).
  std::size_t query_count(const char* name) const;
  // The complete, size-checked body ("" for GET and body-less requests).
  const std::string& body() const { return body_; }
  const std::string& remote_addr() const;

 private:
  const httplib::Request& raw_;
  const std::string& body_;
};

}  // namespace secretsd::api
