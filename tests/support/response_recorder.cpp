#include "response_recorder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

namespace secretsd::it {
namespace {

const char* record_path() {
  const char* path = std::getenv("PGSECRETS_OPENAPI_RECORD");
  return path != nullptr && *path != '\0' ? path : nullptr;
}

// One write() per line on an O_APPEND descriptor: lines of the test
// processes CTest runs one after another, and of a test's threads, never mix.
void append_line(const char* path, const std::string& line) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;  // a lost line only makes the check see less
  ::close(fd);
}

}  // namespace

void record_responses(httplib::Client& client) {
  if (record_path() == nullptr) return;
  client.set_logger([](const httplib::Request& req, const httplib::Response& res) {
    const char* path = record_path();
    if (path == nullptr) return;
    nlohmann::json line = {{"method", req.method},
                           {"path", req.path},
                           {"status", res.status},
                           {"content_type", res.get_header_value("Content-Type")},
                           {"body", res.body}};
    // Bodies may be binary (a settings blob): invalid UTF-8 is replaced.
    append_line(path, line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  });
}

}  // namespace secretsd::it
