#include "composition/modules.h"

#include <chrono>
#include <string>

#include "accounts/module.h"
#include "administrators/module.h"
#include "api/access.h"
#include "api/router.h"
#include "audit/module.h"
#include "console/module.h"
#include "credentials/module.h"
#include "db/databases.h"
#include "events/module.h"
#include "health/module.h"
#include "identity/authenticator.h"
#include "identity/tokens.h"
#include "openapi/module.h"
#include "providers/module.h"
#include "relay/module.h"
#include "runtimes/module.h"
#include "secrets/module.h"

namespace secretsd::composition {

// Members in dependency order: each is built from those above it, and
// destroyed before them.
struct Modules::Parts {
  Parts(const Config& config, db::Databases& databases, events::ChangeHub& hub)
      : pepper(identity::derive_credential_pepper(config.auth_secret_key)),
        authenticator(databases, identity::token_options(config), config.admin_api_key, pepper),
        health(databases, std::chrono::milliseconds(config.ready_write_probe_ms),
               config.metrics_token),
        accounts(databases, authenticator, accounts::accounts_options(config), pepper),
        credentials(databases, authenticator, pepper),
        events(databases, hub, config),
        secrets(databases),
        audit(databases),
        administrators(databases),
        runtimes(databases, runtimes::RuntimesOptions::from(config)),
        providers(databases, runtimes),
        relay(databases, relay::RelayOptions::from(config)),
        console(config.web_dir) {}

  // HMAC key of stored credential hashes (API keys, app keys, refresh
  // tokens, invite codes).
  const std::string pepper;
  identity::CredentialAuthenticator authenticator;
  health::HealthModule health;
  openapi::OpenApiModule openapi;
  accounts::AccountsModule accounts;
  credentials::CredentialsModule credentials;
  events::EventsModule events;
  secrets::SecretsModule secrets;
  audit::AuditModule audit;
  administrators::AdministratorsModule administrators;
  runtimes::RuntimesModule runtimes;
  providers::ProvidersModule providers;
  relay::RelayModule relay;
  console::ConsoleModule console;
};

Modules::Modules(const Config& config, db::Databases& databases, events::ChangeHub& hub)
    : parts_(std::make_unique<Parts>(config, databases, hub)) {}

Modules::~Modules() = default;

api::Authenticator& Modules::authenticator() { return parts_->authenticator; }

api::AccessPolicy Modules::access_policy(const Config& config) {
  return api::AccessPolicy{config.metrics_token};
}

void Modules::register_routes(api::Router& router) {
  Parts& p = *parts_;
  p.health.register_routes(router);
  p.openapi.register_routes(router);
  p.accounts.register_routes(router);
  p.credentials.register_routes(router);
  p.events.register_routes(router);  // before /api/secrets/(.+) takes "events" for a key
  p.secrets.register_routes(router);
  p.audit.register_routes(router);
  p.administrators.register_routes(router);
  p.providers.register_routes(router);
  p.runtimes.register_routes(router);
  p.relay.register_routes(router);
  p.console.register_routes(router);
}

bool Modules::console_available() const { return parts_->console.available(); }

}  // namespace secretsd::composition
