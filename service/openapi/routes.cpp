#include "openapi/routes.h"

#include <string>

#include "http/server.h"
#include "openapi/document.h"

namespace secretsd {

void register_openapi_routes(http::Server& server) {
  server.get("/openapi.json", [](http::Exchange& ex) {
    ex.res.set_content(std::string(openapi::document()), "application/json");
  });
}

}  // namespace secretsd
