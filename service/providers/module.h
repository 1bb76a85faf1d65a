// Provider settings, runtimes and the settings relay:
//
//   GET    /api/v0/admin/settings                    admin: every setting, sensitive ones masked
//   GET    /api/v0/admin/settings/{name}             admin: one setting, masked
//   PUT    /api/v0/admin/settings/{name}             admin: create/replace, probe, restart consumers
//   DELETE /api/v0/admin/settings/{name}             admin: delete, restart consumers
//   POST   /api/v0/admin/settings/{name}/rollback    admin: swap with the previous value, restart
//   GET    /api/v0/admin/runtimes                    admin: runtimes and their last restart
//   POST   /internal/runtimes                        app: register (or update own) runtime
//   GET    /internal/runtime-env?runtime_id=ID       app: the env a runtime starts with
//   PUT|GET /api/v0/nodes/{node_id}/settings-blob    node itself / household users (relay.h)
//
// Reads SECRETSD_RUNTIMES_FILE, SECRETSD_RUNTIME_COMMAND_DIRS,
// SECRETSD_RESTART_TIMEOUT_MS, SECRETSD_RESTART_PARALLELISM and
// SECRETSD_SETTINGS_BLOB_MAX_BYTES from the process environment (options.h);
// throws std::runtime_error (a message safe to print) when one is invalid.
// Its state lives in an object the handlers share; App is not changed.
#pragma once

namespace secretsd {

class Router;

void register_settings_routes(Router& router);

}  // namespace secretsd
