// Server-sent events (text/event-stream) as the change stream writes them.
#pragma once

#include <string>

namespace secretsd::events {

// One change, as read from the audit log (secrets.change_events).
struct ChangeEvent {
  long long id = 0;        // the audit id: the event's id, and the resume point
  std::string action;      // create, update, delete, restore, rollback, purge
  std::string scope;       // integration or node
  std::string node_id;     // empty for integration secrets
  std::string data;        // {"key","scope","node_id","version","action","at"}, compact JSON
};

// Parses the jsonb text of secrets.change_event(); false if it is not one.
bool parse_change_event(long long id, const std::string& json_text, ChangeEvent& out);

// "id: N\nevent: ACTION\ndata: {...}\n\n"
std::string format_event(const ChangeEvent& e);
// "event: reset": the client missed events that cannot be replayed and must
// list the secrets again (no id: the stream continues from now).
std::string format_reset(const std::string& reason);
// A comment line: keeps idle connections open through proxies.
std::string format_heartbeat();
// The response head of a stream (the status line and headers).
std::string stream_head(int retry_ms);

// A node sees integration secrets and its own node secrets only; users and
// apps (node_id empty) see the whole household. The same rule as the
// extension's row_visible() for a gateway context with a node.
bool visible_to(const ChangeEvent& e, const std::string& stream_node_id);

}  // namespace secretsd::events
