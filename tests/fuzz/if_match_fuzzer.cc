// If-Match / ETag parsing (service/api/readers.cpp: if_match),
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

#include "api/readers.h"
#include "api/request.h"
#include "secrets/validation.h"

using namespace secretsd;
using api::etag_for;
using api::kAnyVersion;

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
  const std::string no_body;
  auto parsed = api::if_match(api::Request(req, no_body));
  if (parsed.ok() && parsed.value()) {
    const std::optional<int>* v = &parsed.value();
    // An accepted ETag names version >= 1 (or "*"), and etag_for writes
    // what read_if_match reads.
    if (**v != kAnyVersion) {
      if (**v < 1) std::abort();
      httplib::Request again;
      again.headers.emplace("If-Match", etag_for(**v));
      auto round = api::if_match(api::Request(again, no_body));
      if (!round.ok() || !round.value() || *round.value() != **v) std::abort();
    }
  }
  (void)secrets::read_version_query(api::Request(req, no_body));
  return 0;
}
