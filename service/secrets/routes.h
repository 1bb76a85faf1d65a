// The secrets REST API (/api/secrets), household-scoped by the caller.
#pragma once

namespace secretsd {

class Router;

void register_secrets_routes(Router& router);

}  // namespace secretsd
