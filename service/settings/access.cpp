#include "settings/access.h"

#include "http/json_io.h"

namespace secretsd::settings {

std::optional<Caller> authenticated(http::Exchange& ex, App& app) {
  AuthResult auth = authenticate(ex.req, app);
  if (auth.caller) ex.actor_kind = auth.caller->kind_name();
  switch (auth.outcome) {
    case AuthOutcome::Ok:
      if (auth.caller) return auth.caller;
      break;
    case AuthOutcome::Missing:
    case AuthOutcome::Invalid: break;
    case AuthOutcome::Forbidden:
      http::error_response(ex.res, 403, "Forbidden");
      return std::nullopt;
  }
  http::error_response(ex.res, 401, "Unauthorized");
  return std::nullopt;
}

std::optional<Caller> caller_of_kind(http::Exchange& ex, App& app, CallerKind kind) {
  auto caller = authenticated(ex, app);
  if (!caller) return std::nullopt;
  if (caller->kind != kind) {
    http::error_response(ex.res, 403,
                         kind == CallerKind::Admin ? "Admin credentials required"
                                                   : "App credentials required");
    return std::nullopt;
  }
  return caller;
}

}  // namespace secretsd::settings
