#include "routes.h"

#include "auth/router.h"
#include "auth/routes.h"
#include "events/routes.h"
#include "health/routes.h"
#include "openapi/routes.h"
#include "health/metrics_routes.h"
#include "secrets/routes.h"
#include "settings/routes.h"
#include "ui/routes.h"

namespace secretsd {

bool register_routes(Router& router, events::ChangeHub& hub, const std::string& web_dir) {
  register_health_routes(router);
  register_metrics_routes(router);
  register_openapi_routes(router);
  register_auth_routes(router);
  register_events_routes(router, hub);  // before /api/secrets/(.+) takes "events" for a key
  register_secrets_routes(router);
  register_settings_routes(router);
  return register_ui_routes(router, web_dir);
}

}  // namespace secretsd
