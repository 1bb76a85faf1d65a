// Who a secrets request acts for: the caller's household, actor and node,
// from the credentials the request carries (auth/identity.h).
#pragma once

#include <variant>

#include <httplib.h>

#include "secrets/api_error.h"
#include "secrets/statements.h"

namespace secretsd {
struct App;
}

namespace secretsd::secrets {

// User: the JWT's household. Node: its household, and its own id so that
// row-level security limits it to integration secrets and its own node's.
// App: the X-Household-Id it was granted. Admin: refused (403), the admin
// key administers the service, not household data.
// `kind_name` receives the caller kind for the access log ("" if unknown).
std::variant<HouseholdContext, ApiError> household_for(const httplib::Request& req, App& app,
                                                       std::string& kind_name);

}  // namespace secretsd::secrets
