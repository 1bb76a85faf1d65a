#include "routes.h"

#include "app.h"
#include "auth/routes.h"
#include "health/routes.h"
#include "http/server.h"
#include "metrics/routes.h"
#include "openapi/routes.h"
#include "secrets/routes.h"
#include "settings/routes.h"
#include "ui/routes.h"

namespace secretsd {

bool register_routes(http::Server& server, App& app, const std::string& web_dir) {
  register_health_routes(server, app);
  register_metrics_routes(server, app);
  register_openapi_routes(server);
  register_auth_routes(server, app);
  register_secrets_routes(server, app);
  register_settings_routes(server, app);
  return register_ui_routes(server, web_dir);
}

}  // namespace secretsd
