// The secrets REST API (/api/secrets), household-scoped by the caller.
#pragma once

namespace secretsd {
struct App;
namespace http {
class Server;
}

void register_secrets_routes(http::Server& server, App& app);

}  // namespace secretsd
