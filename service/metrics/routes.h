// GET /metrics: Prometheus text format. Served only when
// SECRETSD_METRICS_TOKEN is set, to callers sending it as a Bearer token.
#pragma once

namespace secretsd {

struct App;
namespace http {
class Server;
}

void register_metrics_routes(http::Server& server, App& app);

}  // namespace secretsd
