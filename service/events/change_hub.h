// The change stream's hub: every open GET /api/secrets/events connection,
// served by one thread, so that a stream never holds an HTTP worker.
//
// - One thread runs an epoll loop over the streams' non-blocking sockets,
//   a wake-up eventfd and the socket of its own database connection, which
//   LISTENs on 'pgsecrets_changes' (reconnecting, and catching up from the
//   audit log, when it is lost).
// - A notification carries only an audit id range and a household (the
//   extension's payload; anyone may NOTIFY, so it is a hint): the hub reads
//   the events themselves from the audit log (secrets.change_events) and
//   sends each to that household's streams that may see it.
// - A stream that does not read (its unsent output passes kMaxBufferedBytes)
//   is closed; the client resumes with Last-Event-ID.
// - Admission is counted here: per caller and in total.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "events/sse.h"

#include <pqxx/connection>
#include <pqxx/notification>

namespace secretsd::events {

struct HubOptions {
  std::string database_url;          // the primary (LISTEN needs a session)
  std::chrono::seconds heartbeat{15};
  std::size_t max_per_caller = 20;
  std::size_t max_total = 10000;
  std::size_t max_buffered_bytes = 1u << 20;  // per stream
};

// Who a stream is for.
struct StreamTarget {
  std::string household_id;
  std::string node_id;     // a node's own id; empty for users and apps
  std::string caller_key;  // household + actor: the per-caller count
  // A stream lasts no longer than its credentials: "node:<id>"/"app:<id>"
  // are checked at every heartbeat (revoked, or the household's grant
  // withdrawn: closed); a user's stream ends when its access token expires
  // (expires_at, seconds since the epoch; 0 = no expiry).
  std::string actor;
  std::int64_t expires_at = 0;
};

class ChangeHub;

// A reserved place for one stream: released when destroyed, unless it was
// handed over with its socket (ChangeHub::adopt).
class StreamSlot {
 public:
  StreamSlot() = default;
  StreamSlot(StreamSlot&& other) noexcept { *this = std::move(other); }
  StreamSlot& operator=(StreamSlot&& other) noexcept;
  StreamSlot(const StreamSlot&) = delete;
  StreamSlot& operator=(const StreamSlot&) = delete;
  ~StreamSlot();
  bool held() const { return hub_ != nullptr; }

 private:
  friend class ChangeHub;
  ChangeHub* hub_ = nullptr;
  std::string caller_key_;
};

enum class Admission { Ok, CallerLimit, TotalLimit, Stopped };

class ChangeHub {
 public:
  explicit ChangeHub(HubOptions options);
  ~ChangeHub();
  ChangeHub(const ChangeHub&) = delete;
  ChangeHub& operator=(const ChangeHub&) = delete;

  // Starts the thread (the database connection is opened there, and
  // retried while it fails).
  void start();
  // Closes every stream (after writing what is queued, within a moment)
  // and joins the thread. Idempotent.
  void stop();

  // Reserves a stream for `caller_key`; `slot` holds it on Ok.
  Admission reserve(const std::string& caller_key, StreamSlot& slot);
  // Takes over `fd` (an accepted socket, blocking or not) for `target`:
  // sends `first_bytes` (response head, replayed events), then every change
  // after audit id `cursor` (0: from now). Any thread.
  void adopt(StreamSlot slot, int fd, StreamTarget target, std::string first_bytes, long long cursor);

  std::size_t open_streams() const;
  bool listening() const;  // the LISTEN connection is up

 private:
  struct Stream;
  struct Pending {
    int fd;
    StreamTarget target;
    std::string first_bytes;
    long long cursor;
  };
  struct Range {
    long long first = 0;
    long long last = 0;
  };

  friend class StreamSlot;
  void release(const std::string& caller_key);

  void run();
  void wake();
  void take_pending();
  void add_stream(Pending p);
  void close_stream(int fd);
  void on_socket(int fd, std::uint32_t events);
  void enqueue(Stream& s, const std::string& bytes);
  bool flush(Stream& s);
  void heartbeat();
  void close_unauthorized();

  bool ensure_connection();
  void drop_connection();
  void on_notifications();
  void deliver_notified();
  void fetch_and_deliver(const std::string& household, Range range);
  void deliver(const std::string& household, const ChangeEvent& e);
  void catch_up();

  const HubOptions options_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;

  mutable std::mutex mutex_;  // guards the fields up to the blank line
  bool stopping_ = false;
  bool started_ = false;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_caller_;
  std::vector<Pending> pending_;
  bool listening_ = false;

  // Hub thread only.
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::notification_receiver> receiver_;  // after conn_: goes first
  int conn_fd_ = -1;
  std::chrono::steady_clock::time_point next_connect_{};
  std::vector<std::string> payloads_;  // notifications not yet handled
  std::unordered_map<int, std::unique_ptr<Stream>> streams_;
  std::unordered_map<std::string, std::unordered_set<int>> by_household_;
  // Per household: the newest event sent, and the recent ones, so that a
  // stream adopted just after its replay gets what the hub sent meanwhile.
  std::unordered_map<std::string, long long> last_id_;
  std::unordered_map<std::string, std::deque<ChangeEvent>> recent_;
};

}  // namespace secretsd::events
