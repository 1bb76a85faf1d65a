// Every route secretsd serves, each declared with who may call it
// (auth/router.h). main() and the route tests (tests/service/unit/
// routes_test.cpp; the OpenAPI coverage test, tests/service/integration/
// openapi_routes_test.cpp) register through here, so what they check is
// what is served.
#pragma once

#include <string>

namespace secretsd {

class Router;
namespace events {
class ChangeHub;
}

// `hub` serves the change streams (started by the caller, or never, in
// tests that only list routes). `web_dir`: the settings page's folder; when
// it holds no settings.html the page is not served and false is returned
// (the API is complete).
bool register_routes(Router& router, events::ChangeHub& hub, const std::string& web_dir);

}  // namespace secretsd
