// GET /openapi.json: the API document, public (it describes the API, it
// holds nothing of anyone's).
#pragma once

namespace secretsd {

class Router;

void register_openapi_routes(Router& router);

}  // namespace secretsd
