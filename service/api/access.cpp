#include "api/access.h"

#include <string_view>

#include "crypto/keyed_hash.h"
#include "metrics/metrics.h"

namespace secretsd::api {
namespace {

// The scrape token is not an identity: it only opens /metrics.
Result<Caller> authorize_metrics(const Request& req, const AccessPolicy& policy,
                                 std::string& actor_kind) {
  constexpr std::string_view kScheme = "Bearer ";
  const std::string header = req.header("Authorization");
  const bool ok = policy.metrics_token && header.size() > kScheme.size() &&
                  std::string_view(header).substr(0, kScheme.size()) == kScheme &&
                  constant_time_equal(std::string_view(header).substr(kScheme.size()),
                                      *policy.metrics_token);
  if (!ok) {
    metrics::global().auth_failure("metrics_token");
    return ApiError(401, "Metrics token required").with_header("WWW-Authenticate", "Bearer");
  }
  actor_kind = "metrics";
  return Caller::anonymous();
}

// A user naming (in X-Household-Id) a household they are not a member of,
// whether or not it exists; or acting for none (their default household's
// membership ended).
constexpr const char* kNotAMember = "You are not a member of that household";

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
      if (caller.kind == CallerKind::Admin) return nullptr;  // break-glass, audited by identity/
      if (caller.kind == CallerKind::User && caller.instance_admin) return nullptr;
      return "Instance administrators only";
    case Access::Household:
      if (caller.kind == CallerKind::Admin) {
        return "The admin key does not give access to household secrets";
      }
      if (caller.kind == CallerKind::User && caller.needs_second_factor) {
        return "This household requires two-factor sign-in";
      }
      if (caller.household_id.empty()) {
        return caller.kind == CallerKind::User
                   ? kNotAMember
                   : "An app must name a household it was granted in X-Household-Id";
      }
      // An empty node id would lift the node restriction: never let it through.
      if (caller.kind == CallerKind::Node && caller.node_id.empty()) return "Forbidden";
      return nullptr;
  }
  return "Forbidden";
}

const char* failure_kind(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::Missing: return "missing";
    case AuthOutcome::Invalid: return "invalid";
    case AuthOutcome::Forbidden: return "forbidden";
    case AuthOutcome::Ok: break;
  }
  return nullptr;
}

}  // namespace

Result<Caller> authorize(const Request& req, Access access, Authenticator& authenticator,
                         const AccessPolicy& policy, std::string& actor_kind) {
  if (access == Access::Public) return Caller::anonymous();
  if (access == Access::Metrics) return authorize_metrics(req, policy, actor_kind);

  // Every route's authentication passes here: the one place failures are counted.
  AuthResult result = authenticator.authenticate(req);
  if (const char* kind = failure_kind(result.outcome)) metrics::global().auth_failure(kind);
  if (result.caller) actor_kind = result.caller->kind_name();
  // A refused caller (Forbidden names its kind) is never admitted.
  switch (result.outcome) {
    case AuthOutcome::Ok: break;
    case AuthOutcome::Missing: return ApiError(401, "Not authenticated");
    case AuthOutcome::Invalid: return ApiError(401, "Invalid credentials");
    case AuthOutcome::Forbidden:
      if (result.caller && result.caller->kind == CallerKind::User) return ApiError(403, kNotAMember);
      return ApiError(403, "This app was not granted that household");
  }
  if (!result.caller) return ApiError(401, "Invalid credentials");
  if (const char* why = kind_refusal(access, *result.caller)) return ApiError(403, why);
  return std::move(*result.caller);
}

}  // namespace secretsd::api
