#include "openapi/routes.h"

#include <string>

#include "auth/router.h"
#include "openapi/document.h"

namespace secretsd {

void register_openapi_routes(Router& router) {
  router.get("/openapi.json", Access::Public, [](http::Exchange& ex, const Caller&) {
    ex.res.set_content(std::string(openapi::document()), "application/json");
  });
}

}  // namespace secretsd
