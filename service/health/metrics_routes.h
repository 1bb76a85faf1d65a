// GET /metrics: Prometheus text format. Served only when
// SECRETSD_METRICS_TOKEN is set, to callers sending it as a Bearer token.
#pragma once

namespace secretsd {

class Router;

void register_metrics_routes(Router& router);

}  // namespace secretsd
