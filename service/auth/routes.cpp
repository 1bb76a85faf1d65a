#include "auth/routes.h"

#include "auth/route_support.h"

namespace secretsd {

void register_auth_routes(Router& router) {
  register_session_routes(router);
  register_user_routes(router);
  register_internal_routes(router);
  register_admin_routes(router);
}

}  // namespace secretsd
