// If-Match / ETag parsing (service/secrets/validation.cpp: read_if_match),
// and the ?version= query it pairs with. Input lines become header values
// (several lines: several If-Match headers); the first line is also the
// version query.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <variant>

#include <httplib.h>

#include "secrets/validation.h"

using namespace secretsd::secrets;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  httplib::Request req;
  std::istringstream lines(text);
  std::string line;
  bool first = true;
  while (std::getline(lines, line)) {
    req.headers.emplace("If-Match", line);
    if (first) req.params.emplace("version", line);
    first = false;
  }
  auto parsed = read_if_match(req);
  if (auto* v = std::get_if<std::optional<int>>(&parsed); v && *v) {
    // An accepted ETag names version >= 1 (or "*"), and etag_for writes
    // what read_if_match reads.
    if (**v != kAnyVersion) {
      if (**v < 1) std::abort();
      httplib::Request again;
      again.headers.emplace("If-Match", etag_for(**v));
      auto round = read_if_match(again);
      auto* rv = std::get_if<std::optional<int>>(&round);
      if (rv == nullptr || !*rv || **rv != **v) std::abort();
    }
  }
  (void)read_version_query(req);
  return 0;
}
