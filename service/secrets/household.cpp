#include "secrets/household.h"

#include "auth/identity.h"

namespace secretsd::secrets {

std::variant<HouseholdContext, ApiError> household_for(const httplib::Request& req, App& app,
                                                       std::string& kind_name) {
  AuthResult auth = authenticate(req, app);
  if (auth.caller) kind_name = auth.caller->kind_name();
  switch (auth.outcome) {
    case AuthOutcome::Ok: break;
    case AuthOutcome::Missing:
    case AuthOutcome::Invalid: return ApiError{401, "Unauthorized"};
    case AuthOutcome::Forbidden: return ApiError{403, "Forbidden"};
  }
  if (!auth.caller) return ApiError{401, "Unauthorized"};
  const Caller& caller = *auth.caller;
  if (caller.kind == CallerKind::Admin) {
    return ApiError{403, "The admin key does not give access to household secrets"};
  }
  if (caller.household_id.empty()) {
    // An app must name a household it was granted in X-Household-Id.
    return ApiError{403, "Forbidden"};
  }
  HouseholdContext ctx;
  ctx.household_id = caller.household_id;
  ctx.actor = caller.actor();
  if (caller.kind == CallerKind::Node) {
    // An empty node id would lift the node restriction: never let it through.
    if (caller.node_id.empty()) return ApiError{403, "Forbidden"};
    ctx.node_id = caller.node_id;
  }
  return ctx;
}

}  // namespace secretsd::secrets
