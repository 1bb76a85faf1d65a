// Every route secretsd serves, registered in one place: main() serves them,
// and the OpenAPI route-coverage test (tests/service/integration/
// openapi_routes_test.cpp) compares them with service/openapi/openapi.json.
#pragma once

#include <string>

namespace secretsd {

struct App;
namespace http {
class Server;
}

// False when `web_dir` has no settings.html (no web page; the API still is).
bool register_routes(http::Server& server, App& app, const std::string& web_dir);

}  // namespace secretsd
