#include "events/sse.h"

#include <nlohmann/json.hpp>

namespace secretsd::events {

bool parse_change_event(long long id, const std::string& json_text, ChangeEvent& out) {
  auto j = nlohmann::json::parse(json_text, nullptr, false);
  if (!j.is_object()) return false;
  auto text = [&j](const char* name) {
    auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.id = id;
  out.action = text("action");
  out.scope = text("scope");
  out.node_id = text("node_id");
  // The extension's fields, in a fixed order, as compact JSON (a value is
  // never among them: secrets.change_event() reads the audit log only).
  nlohmann::ordered_json data;
  for (const char* name : {"key", "scope", "node_id", "version", "action", "at"}) {
    auto it = j.find(name);
    data[name] = it != j.end() ? *it : nlohmann::json();
  }
  out.data = data.dump();
  return !out.action.empty();
}

std::string format_event(const ChangeEvent& e) {
  return "id: " + std::to_string(e.id) + "\nevent: " + e.action + "\ndata: " + e.data + "\n\n";
}

std::string format_reset(const std::string& reason) {
  return "event: reset\ndata: " + nlohmann::json{{"reason", reason}}.dump() + "\n\n";
}

std::string format_heartbeat() { return ": heartbeat\n\n"; }

std::string stream_head(int retry_ms) {
  return "HTTP/1.1 200 OK\r\n"
         "Content-Type: text/event-stream\r\n"
         "Cache-Control: no-store\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "X-Accel-Buffering: no\r\n"
         "Connection: close\r\n"
         "\r\n"
         "retry: " + std::to_string(retry_ms) + "\n\n";
}

bool visible_to(const ChangeEvent& e, const std::string& stream_node_id) {
  if (stream_node_id.empty()) return true;
  return e.scope != "node" || e.node_id == stream_node_id;
}

}  // namespace secretsd::events
