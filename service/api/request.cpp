#include "api/request.h"

#include <httplib.h>

namespace secretsd::api {

const std::string& Request::method() const { return raw_.method; }
const std::string& Request::path() const { return raw_.path; }

std::string Request::path_capture(std::size_t n) const {
  return raw_.matches.size() > n ? raw_.matches[n].str() : std::string();
}

bool Request::has_header(const char* name) const { return raw_.has_header(name); }
std::string Request::header(const char* name) const { return raw_.get_header_value(name); }
std::size_t Request::header_count(const char* name) const {
  return raw_.get_header_value_count(name);
}

bool Request::has_query(const char* name) const { return raw_.has_param(name); }
std::string Request::query(const char* name) const { return raw_.get_param_value(name); }
std::size_t Request::query_count(const char* name) const {
  return raw_.get_param_value_count(name);
}

const std::string& Request::remote_addr() const { return raw_.remote_addr; }

}  // namespace secretsd::api
