// GET /api/secrets/events: the change stream (server-sent events).
//
// Callers and visibility as the other secrets routes (Access::Household): a
// user or app sees its household's changes; a node its household's
// integration secrets and its own node secrets; the admin key is refused.
// After authentication the connection is handed to the ChangeHub, so the
// HTTP worker returns at once.
#pragma once

#include "config/config.h"
#include "events/change_hub.h"

namespace secretsd {

class Router;

// The hub's settings from the configuration (SECRETSD_STREAM_*).
events::HubOptions hub_options(const Config& config);

// Register before register_secrets_routes (whose /api/secrets/(.+) would
// take "events" for a key).
void register_events_routes(Router& router, events::ChangeHub& hub);

}  // namespace secretsd
