#include "auth/access.h"

#include <string_view>

#include "app.h"
#include "crypto/keyed_hash.h"
#include "http/json_io.h"
#include "metrics/metrics.h"

namespace secretsd {
namespace {

std::optional<Caller> refuse(http::Exchange& ex, int status, const char* message) {
  http::error_response(ex.res, status, message);
  return std::nullopt;
}

// The scrape token is not an identity: it only opens /metrics.
std::optional<Caller> authorize_metrics(http::Exchange& ex, const App& app) {
  constexpr std::string_view kScheme = "Bearer ";
  const std::string header = ex.req.get_header_value("Authorization");
  const bool ok = app.config.metrics_token && header.size() > kScheme.size() &&
                  std::string_view(header).substr(0, kScheme.size()) == kScheme &&
                  constant_time_equal(std::string_view(header).substr(kScheme.size()),
                                      *app.config.metrics_token);
  if (!ok) {
    metrics::global().auth_failure("metrics_token");
    ex.res.set_header("WWW-Authenticate", "Bearer");
    return refuse(ex, 401, "Metrics token required");
  }
  ex.actor_kind = "metrics";
  return Caller::anonymous();
}

// Why a valid caller of the wrong kind is refused, or nullptr if admitted.
const char* kind_refusal(Access access, const Caller& caller) {
  switch (access) {
    case Access::Public:
    case Access::AnyCaller:
    case Access::Metrics: return nullptr;
    case Access::User:
      return caller.kind == CallerKind::User ? nullptr : "A user's access token is required";
    case Access::App: return caller.kind == CallerKind::App ? nullptr : "App credentials required";
    case Access::Admin:
      return caller.kind == CallerKind::Admin ? nullptr : "Admin credentials required";
    case Access::Household:
      if (caller.kind == CallerKind::Admin) {
        return "The admin key does not give access to household secrets";
      }
      if (caller.household_id.empty()) {
        return "An app must name a household it was granted in X-Household-Id";
      }
      // An empty node id would lift the node restriction: never let it through.
      if (caller.kind == CallerKind::Node && caller.node_id.empty()) return "Forbidden";
      return nullptr;
  }
  return "Forbidden";
}

}  // namespace

const char* access_name(Access access) {
  switch (access) {
    case Access::Public: return "public";
    case Access::AnyCaller: return "any-caller";
    case Access::User: return "user";
    case Access::App: return "app";
    case Access::Admin: return "admin";
    case Access::Household: return "household";
    case Access::Metrics: return "metrics";
  }
  return "unknown";
}

std::optional<Caller> authorize(http::Exchange& ex, App& app, Access access) {
  if (access == Access::Public) return Caller::anonymous();
  if (access == Access::Metrics) return authorize_metrics(ex, app);
  if (access == Access::Admin && !app.config.admin_api_key) return refuse(ex, 404, "Not found");

  AuthResult result = authenticate(ex.req, app);
  if (result.caller) ex.actor_kind = result.caller->kind_name();
  switch (result.outcome) {
    case AuthOutcome::Ok: break;
    case AuthOutcome::Missing: return refuse(ex, 401, "Not authenticated");
    case AuthOutcome::Invalid: return refuse(ex, 401, "Invalid credentials");
    case AuthOutcome::Forbidden: return refuse(ex, 403, "This app was not granted that household");
  }
  if (!result.caller) return refuse(ex, 401, "Invalid credentials");
  if (const char* why = kind_refusal(access, *result.caller)) return refuse(ex, 403, why);
  return result.caller;
}

}  // namespace secretsd
