// GET /health (process is up; no database), GET /ready (database reachable
// and taking writes, extension pgsecrets installed, a root key loaded) and
// GET /metrics (Prometheus text; served only when SECRETSD_METRICS_TOKEN is
// set, to callers sending it as a Bearer token).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace secretsd::db {
class Databases;
}
namespace secretsd::api {
class Router;
}

namespace secretsd::health {

class WriteProbe;

class HealthModule {
 public:
  // `write_probe_interval`: SECRETSD_READY_WRITE_PROBE_MS.
  HealthModule(db::Databases& databases, std::chrono::milliseconds write_probe_interval,
               std::optional<std::string> metrics_token);
  ~HealthModule();

  void register_routes(api::Router& router);

 private:
  db::Databases& databases_;
  std::unique_ptr<WriteProbe> probe_;
  const std::optional<std::string> metrics_token_;
};

}  // namespace secretsd::health
