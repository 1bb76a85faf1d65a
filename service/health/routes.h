// GET /health (process is up; no database) and GET /ready (database
// reachable, extension pgsecrets installed, a root key loaded).
#pragma once

namespace secretsd {

class Router;

void register_health_routes(Router& router);

}  // namespace secretsd
