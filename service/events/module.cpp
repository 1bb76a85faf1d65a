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
#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string>

#include <pqxx/except>

#include "api/caller.h"
#include "api/error.h"
#include "api/router.h"
#include "db/databases.h"
#include "events/change_hub.h"
#include "events/module.h"
#include "events/sse.h"
#include "http/ascii.h"

namespace secretsd::events {
namespace {

using api::ApiError;
using api::Reply;
using api::Request;

// The caller's missed events after $6, at most $7, visible to it: the
// context (household, actor, node) is the caller's own, so row-level
// security and row_visible() decide, as for every other secrets read.
const char* kReplaySql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_SET_CONTEXT
    " AS ctx, $6::bigint AS after_id, $7::integer AS max_events) "
    "SELECT k.kept, e.id, e.event::text, extract(epoch FROM now() - e.at)::float8 AS age_s "
    "FROM c, LATERAL (SELECT secrets.change_event_kept(c.after_id) AS kept OFFSET 0) k "
    "LEFT JOIN LATERAL secrets.change_events(c.after_id, c.max_events) e ON true "
    "ORDER BY e.id";

// Retry hint for EventSource clients, in ms.
constexpr int kRetryMs = 2000;

bool accepts_event_stream(const Request& req) {
  if (!req.has_header("Accept")) return true;
  const std::string accept = http::ascii_lower(req.header("Accept"));
  return accept.find("text/event-stream") != std::string::npos ||
         accept.find("*/*") != std::string::npos || accept.find("text/*") != std::string::npos;
}

// The resume point: 0 when none is given; nullopt when it is not an id.
std::optional<long long> last_event_id(const Request& req) {
  std::string v = req.has_header("Last-Event-ID") ? req.header("Last-Event-ID")
                  : req.has_query("last_event_id") ? req.query("last_event_id")
                                                   : std::string();
  if (v.empty()) return 0;
  if (v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoll(v);
}

}  // namespace

// The caller's missed events after `after`, or one reset when they cannot
// all be served.
Replay EventsModule::replay(const db::Context& ctx, long long after) {
  const long long max_events = options_.replay_max_events;
  const pqxx::result rows = databases_.read_primary(ctx, [&](db::Session& session) {
    return session.exec(kReplaySql, after, static_cast<int>(max_events + 1));
  });
  Replay out;
  const bool kept = !rows.empty() && rows[0]["kept"].as<bool>(false);
  std::size_t missed = 0;
  for (const auto& row : rows) missed += row["id"].is_null() ? 0 : 1;
  if (!kept) return {format_reset("gone"), 0};
  if (missed > static_cast<std::size_t>(max_events)) return {format_reset("too_many"), 0};
  if (missed > 0 && rows[0]["age_s"].as<double>(0) > options_.replay_max_age_s) {
    return {format_reset("too_old"), 0};
  }
  out.cursor = after;
  for (const auto& row : rows) {
    if (row["id"].is_null()) continue;
    ChangeEvent e;
    if (!parse_change_event(row["id"].as<long long>(), row["event"].as<std::string>(), e)) continue;
    out.bytes += format_event(e);
    out.cursor = e.id;
  }
  return out;
}

Reply EventsModule::open_stream(const Request& req, const api::Caller& caller) {
  const db::Context ctx = api::household_context(caller);
  if (req.method() == "HEAD") {  // nothing to stream
    return Reply::text(200, "", "").with_header("Content-Type", "text/event-stream");
  }
  if (!accepts_event_stream(req)) {
    return Reply::error({406, "This endpoint sends text/event-stream"});
  }
  auto after = last_event_id(req);
  if (!after) {
    return Reply::error({400, "Last-Event-ID must be an event id (a positive integer)"});
  }
  StreamTarget target{http::ascii_lower(ctx.household_id), ctx.node_id, "", ctx.actor, caller.expires_at};
  StreamSlot slot;
  switch (hub_.reserve(target.household_id + " " + ctx.actor, slot)) {
    case Admission::Ok: break;
    case Admission::CallerLimit:
      return Reply::error(ApiError(429, "Too many open change streams for this caller")
                              .with_header("Retry-After", "5"));
    case Admission::TotalLimit:
    case Admission::Stopped:
      return Reply::error(
          ApiError(503, "Too many open change streams").with_header("Retry-After", "5"));
  }
  Replay first;
  if (*after > 0) {
    try {
      first = replay(ctx, *after);
    } catch (const pqxx::sql_error& e) {
      return Reply::error(api::from_sql_error(e, ""));
    }
  }
  // What the client gets if the server stops before the hand-over.
  Reply reply = Reply::error({503, "Service unavailable"});
  auto held = std::make_shared<StreamSlot>(std::move(slot));
  auto bytes = std::make_shared<std::string>(stream_head(kRetryMs) + first.bytes);
  const long long cursor = first.cursor;
  reply.take_over = [&hub = hub_, held, bytes, target, cursor](int fd) {
    hub.adopt(std::move(*held), fd, target, std::move(*bytes), cursor);
  };
  return reply;
}

HubOptions hub_options(const Config& config) {
  HubOptions options;
  // LISTEN needs a session of its own: behind a pooler in transaction mode
  // (DATABASE_URL), SECRETSD_MIGRATION_DATABASE_URL names the primary.
  options.database_url =
      config.migration_database_url.empty() ? config.database_url : config.migration_database_url;
  options.heartbeat = std::chrono::seconds(config.stream_heartbeat_s);
  options.max_per_caller = static_cast<std::size_t>(config.stream_max_per_caller);
  options.max_total = static_cast<std::size_t>(config.stream_max_total);
  return options;
}

EventsModule::EventsModule(db::Databases& databases, ChangeHub& hub, const Config& config)
    : databases_(databases),
      hub_(hub),
      options_{config.stream_replay_max_events, static_cast<double>(config.stream_replay_max_age_s)} {}

void EventsModule::register_routes(api::Router& router) {
  router.get("/api/secrets/events", api::Access::Household,
             [this](const Request& req, const api::Caller& caller) { return open_stream(req, caller); });
}

}  // namespace secretsd::events
