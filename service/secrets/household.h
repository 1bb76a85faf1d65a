// Who a secrets request acts for: the caller's household, actor and node.
// The route admitted the caller already (Access::Household, auth/access.h).
#pragma once

#include "auth/identity.h"
#include "secrets/statements.h"

namespace secretsd::secrets {

// User: the JWT's household. Node: its household, and its own id so that
// row-level security limits it to integration secrets and its own node's.
// App: the X-Household-Id it was granted.
HouseholdContext household_of(const Caller& caller);

}  // namespace secretsd::secrets
