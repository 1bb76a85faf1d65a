// The OpenAPI 3.1 document of secretsd's HTTP API (service/openapi/openapi.json),
// compiled into the binary: CMake turns the file into a C++ string at build
// time (service/openapi/embed.cmake), so secretsd reads no file to serve it.
#pragma once

#include <string_view>

namespace secretsd::openapi {

// The document's bytes, exactly as in openapi.json.
std::string_view document();

}  // namespace secretsd::openapi
