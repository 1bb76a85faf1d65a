// Every route secretsd serves, each declared with who may call it
// (auth/router.h). main() and the route tests (tests/service/unit/
// routes_test.cpp; the OpenAPI coverage test, tests/service/integration/
// openapi_routes_test.cpp) register through here, so what they check is
// what is served.
#pragma once

#include <string>

namespace secretsd {

class Router;

// `web_dir`: the settings page's folder; when it holds no settings.html
// the page is not served and false is returned (the API is complete).
bool register_routes(Router& router, const std::string& web_dir);

}  // namespace secretsd
