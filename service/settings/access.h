// Who may call the settings endpoints: authenticates the request and
// answers 401 (no or bad credentials) / 403 (wrong kind of caller) itself.
#pragma once

#include <optional>

#include "auth/identity.h"
#include "http/server.h"

namespace secretsd::settings {

// Any authenticated caller, or nullopt with the error already sent.
std::optional<Caller> authenticated(http::Exchange& ex, App& app);

// A caller of exactly `kind` (403 for another valid caller).
std::optional<Caller> caller_of_kind(http::Exchange& ex, App& app, CallerKind kind);

}  // namespace secretsd::settings
