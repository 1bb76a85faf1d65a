// GET /api/secrets/events: the change stream (server-sent events).
//
// Callers and visibility as the other secrets routes (Access::Household): a
// user or app sees its household's changes; a node its household's
// integration secrets and its own node secrets; the admin key is refused.
// After authentication the connection is handed to the ChangeHub, so the
// HTTP worker returns at once.
#pragma once

#include <string>

#include "api/reply.h"
#include "api/request.h"
#include "config/config.h"
#include "db/context.h"
#include "events/change_hub.h"

namespace secretsd::db {
class Databases;
}
namespace secretsd::api {
class Router;
struct Caller;
}

namespace secretsd::events {

// The hub's settings from the configuration (SECRETSD_STREAM_*).
HubOptions hub_options(const Config& config);

struct Replay {
  std::string bytes;     // the events, or one reset
  long long cursor = 0;  // where the hub continues (0: from now)
};

class EventsModule {
 public:
  // `hub` is started and stopped by main(), around serving.
  EventsModule(db::Databases& databases, ChangeHub& hub, const Config& config);

  // Register before the secrets module (whose /api/secrets/(.+) would take
  // "events" for a key).
  void register_routes(api::Router& router);

 private:
  struct Options {
    long long replay_max_events;
    double replay_max_age_s;
  };

  api::Reply open_stream(const api::Request& req, const api::Caller& caller);
  Replay replay(const db::Context& ctx, long long after);

  db::Databases& databases_;
  ChangeHub& hub_;
  const Options options_;
};

}  // namespace secretsd::events
