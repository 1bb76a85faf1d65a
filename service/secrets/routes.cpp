#include "secrets/routes.h"

#include "app.h"
#include "http/server.h"

namespace secretsd {

void register_secrets_routes(http::Server& server, App& app) {}

}  // namespace secretsd
