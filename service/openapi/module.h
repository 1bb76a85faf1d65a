// GET /openapi.json: the API document, public (it describes the API, it
// holds nothing of anyone's).
#pragma once

namespace secretsd::api {
class Router;
}

namespace secretsd::openapi {

class OpenApiModule {
 public:
  void register_routes(api::Router& router);
};

}  // namespace secretsd::openapi
