// Following secretsd's change stream (GET /api/secrets/events) for
// `secrets watch` and `secrets run --watch`: server-sent events parsed one by
// one, and a reconnect with Last-Event-ID after the stream drops, so that no
// change is missed (or an "event: reset" says that some were).
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include "secrets_cli/config.h"
#include "secrets_cli/http_client.h"

namespace secrets_client {

struct WatchEvent {
  std::string id;     // the audit id ("" for a reset)
  std::string event;  // create, update, delete, restore, rollback, purge, reset
  std::string data;   // the event's JSON object, as sent
};

// Splits a text/event-stream body into events; comments and retry lines
// are skipped.
class SseParser {
 public:
  void feed(const char* data, std::size_t n, const std::function<void(const WatchEvent&)>& on_event);

 private:
  std::string buffer_;
};

class ChangeWatcher {
 public:
  explicit ChangeWatcher(const ClientConfig& config) : http_(config) {}

  // Calls on_event for every event until stop(). A dropped stream (or 429,
  // 503, no answer) is retried after a pause (1 s, doubling up to 10 s) with
  // the last event id seen. Throws ClientError for 400/401/403/404.
  // `on_connected` is called each time a stream is open.
  void run(const std::function<void(const WatchEvent&)>& on_event,
           const std::function<void()>& on_connected = {});
  // From any thread; run() returns soon after.
  void stop();

 private:
  HttpClient http_;
  std::atomic<bool> stopping_{false};
  std::string last_id_;
};

}  // namespace secrets_client
