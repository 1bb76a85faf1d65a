// Who may call a route. Each route declares it where it is registered
// (api/router.h); authorize() is the one check behind every declaration and
// the one place a refusal is worded. Checking credentials is the
// Authenticator's (identity/), given to the router by main().
#pragma once

#include <optional>
#include <string>

#include "api/caller.h"
#include "api/error.h"
#include "api/request.h"

namespace secretsd::api {

enum class Access {
  Public,     // anyone: no credentials are read
  AnyCaller,  // any valid credentials; the handler narrows further
  User,       // a user's access token
  App,        // app credentials
  Admin,      // an instance admin (a user), or the break-glass ADMIN_API_KEY
  Household,  // a user, a node, or an app naming a household it was granted
  Metrics,    // the metrics scrape token (SECRETSD_METRICS_TOKEN)
};

// "public", "any-caller", "user", ...: route listings and the API document.
const char* access_name(Access access);

enum class AuthOutcome {
  Ok,
  Missing,    // no credentials at all           -> 401
  Invalid,    // bad, expired or revoked          -> 401
  Forbidden,  // valid, but not for this household -> 403
};

struct AuthResult {
  AuthOutcome outcome = AuthOutcome::Missing;
  std::optional<Caller> caller;
};

// Checks whichever credentials a request carries. Comparisons are
// constant-time; failures never say which part was wrong.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  virtual AuthResult authenticate(const Request& req) = 0;
};

// What authorize() needs of the configuration.
struct AccessPolicy {
  std::optional<std::string> metrics_token;  // SECRETSD_METRICS_TOKEN
};

// The caller when the request's credentials satisfy `access`, or the
// refusal (401, 403 or 404, a fixed message). `actor_kind` receives the
// caller's kind for the access log, also when refused.
Result<Caller> authorize(const Request& req, Access access, Authenticator& authenticator,
                         const AccessPolicy& policy, std::string& actor_kind);

}  // namespace secretsd::api
