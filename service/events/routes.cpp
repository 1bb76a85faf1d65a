// GET /api/secrets/events
//   Accept: text/event-stream (or absent, or */*)
//   Last-Event-ID: <audit id>  (or ?last_event_id=<id>): resume after it
//
// 200 text/event-stream, then per change:
//   id: <audit id>\nevent: <action>\ndata: {"key","scope","node_id","version","action","at"}\n\n
// a ": heartbeat" comment every SECRETSD_STREAM_HEARTBEAT_S seconds, and
// "event: reset" when a resume cannot be served (too many or too old missed
// events, or the id is no longer in the audit log): list the secrets again.
// 400 bad Last-Event-ID, 401/403 as the secrets routes, 406 another Accept,
// 429 too many streams for this caller, 503 too many in total.
#include "events/routes.h"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include <pqxx/except>
#include <pqxx/nontransaction>

#include "app.h"
#include "auth/router.h"
#include "db/pool.h"
#include "db/tx.h"
#include "events/change_hub.h"
#include "events/sse.h"
#include "http/ascii.h"
#include "http/json_io.h"
#include "secrets/db_errors.h"
#include "secrets/household.h"

namespace secretsd {
namespace {

using secrets::ApiError;
using secrets::HouseholdContext;

// The caller's missed events after $4, at most $5, visible to it: the
// context (household, actor, node) is the caller's own, so row-level
// security and row_visible() decide, as for every other secrets read.
const char* kReplaySql =
    "WITH c AS MATERIALIZED (SELECT secrets.set_context($1::uuid, $2::text, NULLIF($3::text, ''))"
    " AS ctx, $4::bigint AS after_id, $5::integer AS max_events) "
    "SELECT k.kept, e.id, e.event::text, extract(epoch FROM now() - e.at)::float8 AS age_s "
    "FROM c, LATERAL (SELECT secrets.change_event_kept(c.after_id) AS kept OFFSET 0) k "
    "LEFT JOIN LATERAL secrets.change_events(c.after_id, c.max_events) e ON true "
    "ORDER BY e.id";

// Retry hint for EventSource clients, in ms.
constexpr int kRetryMs = 2000;

bool accepts_event_stream(const httplib::Request& req) {
  if (!req.has_header("Accept")) return true;
  const std::string accept = http::ascii_lower(req.get_header_value("Accept"));
  return accept.find("text/event-stream") != std::string::npos ||
         accept.find("*/*") != std::string::npos || accept.find("text/*") != std::string::npos;
}

// The resume point: 0 when none is given; nullopt when it is not an id.
std::optional<long long> last_event_id(const httplib::Request& req) {
  std::string v = req.has_header("Last-Event-ID") ? req.get_header_value("Last-Event-ID")
                  : req.has_param("last_event_id") ? req.get_param_value("last_event_id")
                                                   : std::string();
  if (v.empty()) return 0;
  if (v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(v);
}

struct Replay {
  std::string bytes;      // the events, or one reset
  long long cursor = 0;   // where the hub continues (0: from now)
};

Replay replay(App& app, const HouseholdContext& ctx, long long after) {
  const long long max_events = app.config.stream_replay_max_events;
  db::Lease lease = app.connection();
  const pqxx::result rows = db::with_statement(lease, [&](pqxx::nontransaction& tx) {
    return tx.exec_params(kReplaySql, ctx.household_id, ctx.actor, ctx.node_id, after,
                          static_cast<int>(max_events + 1));
  });
  Replay out;
  const bool kept = !rows.empty() && rows[0]["kept"].as<bool>(false);
  std::size_t missed = 0;
  for (const auto& row : rows) missed += row["id"].is_null() ? 0 : 1;
  if (!kept) return {events::format_reset("gone"), 0};
  if (missed > static_cast<std::size_t>(max_events)) return {events::format_reset("too_many"), 0};
  if (missed > 0 && rows[0]["age_s"].as<double>(0) > app.config.stream_replay_max_age_s) {
    return {events::format_reset("too_old"), 0};
  }
  out.cursor = after;
  for (const auto& row : rows) {
    if (row["id"].is_null()) continue;
    events::ChangeEvent e;
    if (!events::parse_change_event(row["id"].as<long long>(), row["event"].as<std::string>(), e)) continue;
    out.bytes += events::format_event(e);
    out.cursor = e.id;
  }
  return out;
}

void open_stream(http::Exchange& ex, App& app, events::ChangeHub& hub, const Caller& caller) {
  const HouseholdContext ctx = secrets::household_of(caller);
  if (ex.req.method == "HEAD") {  // nothing to stream
    ex.res.status = 200;
    ex.res.set_header("Content-Type", "text/event-stream");
    return;
  }
  if (!accepts_event_stream(ex.req)) {
    http::error_response(ex.res, 406, "This endpoint sends text/event-stream");
    return;
  }
  auto after = last_event_id(ex.req);
  if (!after) {
    http::error_response(ex.res, 400, "Last-Event-ID must be an event id (a positive integer)");
    return;
  }
  events::StreamTarget target{http::ascii_lower(ctx.household_id), ctx.node_id, "", ctx.actor, caller.expires_at};
  events::StreamSlot slot;
  switch (hub.reserve(target.household_id + " " + ctx.actor, slot)) {
    case events::Admission::Ok: break;
    case events::Admission::CallerLimit:
      ex.res.set_header("Retry-After", "5");
      http::error_response(ex.res, 429, "Too many open change streams for this caller");
      return;
    case events::Admission::TotalLimit:
    case events::Admission::Stopped:
      ex.res.set_header("Retry-After", "5");
      http::error_response(ex.res, 503, "Too many open change streams");
      return;
  }
  Replay first;
  if (*after > 0) {
    try {
      first = replay(app, ctx, *after);
    } catch (const pqxx::sql_error& e) {
      ApiError mapped = secrets::map_sql_error(e, "");
      http::error_response(ex.res, mapped.status, mapped.message);
      return;
    }
  }
  // What the client gets if the server stops before the hand-over.
  http::error_response(ex.res, 503, "Service unavailable");
  auto held = std::make_shared<events::StreamSlot>(std::move(slot));
  auto bytes = std::make_shared<std::string>(events::stream_head(kRetryMs) + first.bytes);
  const long long cursor = first.cursor;
  ex.hand_over = [&hub, held, bytes, target, cursor](int fd) {
    hub.adopt(std::move(*held), fd, target, std::move(*bytes), cursor);
  };
}

}  // namespace

events::HubOptions hub_options(const Config& config) {
  events::HubOptions options;
  // LISTEN needs a session of its own: behind a pooler in transaction mode
  // (DATABASE_URL), SECRETSD_MIGRATION_DATABASE_URL names the primary.
  options.database_url =
      config.migration_database_url.empty() ? config.database_url : config.migration_database_url;
  options.heartbeat = std::chrono::seconds(config.stream_heartbeat_s);
  options.max_per_caller = static_cast<std::size_t>(config.stream_max_per_caller);
  options.max_total = static_cast<std::size_t>(config.stream_max_total);
  return options;
}

void register_events_routes(Router& router, events::ChangeHub& hub) {
  App& app = router.app();
  router.get("/api/secrets/events", Access::Household,
             [&app, &hub](http::Exchange& ex, const Caller& caller) {
               open_stream(ex, app, hub, caller);
             });
}

}  // namespace secretsd
