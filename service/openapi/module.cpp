#include "openapi/module.h"

#include <string>

#include "api/router.h"
#include "openapi/document.h"

namespace secretsd::openapi {

void OpenApiModule::register_routes(api::Router& router) {
  router.get("/openapi.json", api::Access::Public, [](const api::Request&, const api::Caller&) {
    return api::Reply::text(200, std::string(document()), "application/json");
  });
}

}  // namespace secretsd::openapi
