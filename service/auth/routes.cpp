#include "auth/routes.h"

#include "auth/route_support.h"

namespace secretsd {

void register_auth_routes(http::Server& server, App& app) {
  register_session_routes(server, app);
  register_user_routes(server, app);
  register_internal_routes(server, app);
  register_admin_routes(server, app);
}

}  // namespace secretsd
