// GET /health (process is up; no database) and GET /ready (database
// reachable, extension pgsecrets installed, a root key loaded).
#pragma once

namespace secretsd {
struct App;
namespace http {
class Server;
}

void register_health_routes(http::Server& server, App& app);

}  // namespace secretsd
