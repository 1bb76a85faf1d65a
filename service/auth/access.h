// Who may call a route. Each route declares it where it is registered
// (auth/router.h); authorize() is the one check behind every declaration,
// and the one place a refusal is worded.
#pragma once

#include <optional>

#include "auth/identity.h"
#include "http/server.h"

namespace secretsd {

struct App;

enum class Access {
  Public,     // anyone: no credentials are read
  AnyCaller,  // any valid credentials; the handler narrows further
  User,       // a user's access token
  App,        // app credentials
  Admin,      // the admin key; without ADMIN_API_KEY the route does not exist (404)
  Household,  // a user, a node, or an app naming a household it was granted
  Metrics,    // the metrics scrape token (SECRETSD_METRICS_TOKEN)
};

// "public", "any-caller", "user", ...: route listings and the API document.
const char* access_name(Access access);

// The caller when the request's credentials satisfy `access`; otherwise the
// refusal (401, 403 or 404, a fixed JSON message) is already answered and
// the result is empty. Records the caller's kind for the access log.
std::optional<Caller> authorize(http::Exchange& ex, App& app, Access access);

}  // namespace secretsd
