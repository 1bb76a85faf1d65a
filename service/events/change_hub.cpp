#include "events/change_hub.h"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <iostream>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/connection>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/notification>
#include <pqxx/result>
#include <pqxx/transaction_base>

#include "identity/credential_store.h"
#include "db/context.h"
#include "db/session.h"

namespace secretsd::events {
namespace {

constexpr const char* kChannel = "pgsecrets_changes";
// The audit log is read in pages of this many events.
constexpr int kPage = 1000;
// Recent events kept per household for streams adopted after their replay.
constexpr std::size_t kRecent = 1024;
constexpr auto kReconnectEvery = std::chrono::seconds(1);

// The events of one household with ids in (after, last], oldest first, all
// of them (the context has no node: the hub filters per stream). The context
// is set in a MATERIALIZED CTE before the LATERAL read, as statements.h
// explains; it lasts for this statement only.
const char* kFetchSql =
    "WITH c AS MATERIALIZED (SELECT " SECRETSD_SET_CONTEXT
    " AS ctx, $6::bigint AS after_id, $8::integer AS page) "
    "SELECT e.id, e.event::text FROM c, LATERAL secrets.change_events(c.after_id, c.page) e"
    " WHERE e.id <= $7::bigint ORDER BY e.id";

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection& conn, std::vector<std::string>& sink)
      : pqxx::notification_receiver(conn, kChannel), sink_(sink) {}
  void operator()(const std::string& payload, int) override { sink_.push_back(payload); }

 private:
  std::vector<std::string>& sink_;
};

bool set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL, 0);
  return flags >= 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// A notification's household and id range; false if it is not one of the
// extension's payloads.
bool parse_payload(const std::string& payload, std::string& household, long long& first,
                   long long& last) {
  auto j = nlohmann::json::parse(payload, nullptr, false);
  if (!j.is_object()) return false;
  auto h = j.find("household");
  auto id = j.find("id");
  if (h == j.end() || !h->is_string() || id == j.end() || !id->is_number_integer()) return false;
  household = h->get<std::string>();
  last = id->get<long long>();
  auto f = j.find("first_id");
  first = f != j.end() && f->is_number_integer() ? f->get<long long>() : last;
  return first > 0 && first <= last;
}

}  // namespace

struct ChangeHub::Stream {
  int fd = -1;
  StreamTarget target;
  std::string out;          // unsent bytes: out[sent, size)
  std::size_t sent = 0;
  long long last_id = 0;    // newest event sent on it
  bool want_write = false;  // EPOLLOUT armed
};

// ------------------------------------------------------------- admission

StreamSlot& StreamSlot::operator=(StreamSlot&& other) noexcept {
  if (this != &other) {
    if (hub_ != nullptr) hub_->release(caller_key_);
    hub_ = other.hub_;
    caller_key_ = std::move(other.caller_key_);
    other.hub_ = nullptr;
  }
  return *this;
}

StreamSlot::~StreamSlot() {
  if (hub_ != nullptr) hub_->release(caller_key_);
}

ChangeHub::ChangeHub(HubOptions options) : options_(std::move(options)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

ChangeHub::~ChangeHub() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void ChangeHub::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void ChangeHub::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake();
  if (thread_.joinable()) thread_.join();
  // Adopted after the thread ended (or never started): close them here.
  std::vector<Pending> left;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    left.swap(pending_);
  }
  for (auto& p : left) {
    ::shutdown(p.fd, SHUT_RDWR);
    ::close(p.fd);
    release(p.target.caller_key);
  }
}

Admission ChangeHub::reserve(const std::string& caller_key, StreamSlot& slot) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return Admission::Stopped;
  if (total_ >= options_.max_total) return Admission::TotalLimit;
  std::size_t& mine = per_caller_[caller_key];
  if (mine >= options_.max_per_caller) return Admission::CallerLimit;
  ++mine;
  ++total_;
  slot = StreamSlot();
  slot.hub_ = this;
  slot.caller_key_ = caller_key;
  return Admission::Ok;
}

void ChangeHub::release(const std::string& caller_key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = per_caller_.find(caller_key);
  if (it != per_caller_.end() && --it->second == 0) per_caller_.erase(it);
  if (total_ > 0) --total_;
}

void ChangeHub::adopt(StreamSlot slot, int fd, StreamTarget target, std::string first_bytes,
                      long long cursor) {
  target.caller_key = slot.caller_key_;
  slot.hub_ = nullptr;  // the count now belongs to the stream
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_.push_back({fd, std::move(target), std::move(first_bytes), cursor});
  }
  wake();
}

std::size_t ChangeHub::open_streams() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

bool ChangeHub::listening() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return listening_;
}

void ChangeHub::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

// ------------------------------------------------------------- the loop

void ChangeHub::run() {
  auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
  std::vector<epoll_event> ready(1024);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
    }
    if (!conn_ && std::chrono::steady_clock::now() >= next_connect_) ensure_connection();
    auto now = std::chrono::steady_clock::now();
    auto until = next_beat;
    if (!conn_) until = std::min(until, next_connect_);
    int timeout = static_cast<int>(std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()));
    int n = ::epoll_wait(epoll_fd_, ready.data(), static_cast<int>(ready.size()), timeout);
    for (int i = 0; i < n; ++i) {
      const int fd = ready[static_cast<std::size_t>(i)].data.fd;
      const std::uint32_t ev = ready[static_cast<std::size_t>(i)].events;
      if (fd == wake_fd_) {
        std::uint64_t v;
        while (::read(wake_fd_, &v, sizeof v) > 0) {
        }
        take_pending();
      } else if (conn_ && fd == conn_fd_) {
        on_notifications();
      } else {
        on_socket(fd, ev);
      }
    }
    if (std::chrono::steady_clock::now() >= next_beat) {
      heartbeat();
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
    }
  }
  // Stopping: what is queued gets a moment to leave, then every stream is
  // closed with a FIN (the client reconnects, to another instance if need be).
  take_pending();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  for (auto& [fd, s] : streams_) {
    ::shutdown(fd, SHUT_RD);
    while (s->sent < s->out.size() && std::chrono::steady_clock::now() < deadline) {
      if (!flush(*s)) break;
      if (s->sent < s->out.size()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  std::vector<int> fds;
  for (auto& [fd, s] : streams_) fds.push_back(fd);
  for (int fd : fds) close_stream(fd);
  drop_connection();
}

void ChangeHub::take_pending() {
  std::vector<Pending> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(pending_);
  }
  for (auto& p : batch) add_stream(std::move(p));
}

void ChangeHub::add_stream(Pending p) {
  auto s = std::make_unique<Stream>();
  s->fd = p.fd;
  s->target = std::move(p.target);
  s->out = std::move(p.first_bytes);
  const std::string& household = s->target.household_id;
  // From now: nothing older than what this household's streams were sent.
  auto last = last_id_.find(household);
  s->last_id = p.cursor > 0 ? p.cursor : (last != last_id_.end() ? last->second : 0);
  // A replayed stream knows where the household's log was: if the hub does
  // not, a lost LISTEN connection can now be caught up from there.
  if (p.cursor > 0 && last == last_id_.end()) last_id_[household] = p.cursor;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = p.fd;
  if (!set_nonblocking(p.fd) || ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, p.fd, &ev) != 0) {
    ::close(p.fd);
    release(s->target.caller_key);
    return;
  }
  Stream& stream = *s;
  streams_[p.fd] = std::move(s);
  by_household_[household].insert(p.fd);
  // Sent by the hub between the replay and now.
  auto recent = recent_.find(household);
  if (p.cursor > 0 && recent != recent_.end()) {
    for (const auto& e : recent->second) {
      if (e.id > stream.last_id && visible_to(e, stream.target.node_id)) {
        stream.out += format_event(e);
        stream.last_id = e.id;
      }
    }
  }
  if (!flush(stream)) close_stream(p.fd);
}

void ChangeHub::close_stream(int fd) {
  auto it = streams_.find(fd);
  if (it == streams_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  auto h = by_household_.find(it->second->target.household_id);
  if (h != by_household_.end()) {
    h->second.erase(fd);
    if (h->second.empty()) by_household_.erase(h);
  }
  release(it->second->target.caller_key);
  streams_.erase(it);
  ::close(fd);
}

void ChangeHub::on_socket(int fd, std::uint32_t events) {
  auto it = streams_.find(fd);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    // A client sends nothing on a stream: anything read is dropped, and
    // end of input (or an error) ends the stream.
    char sink[1024];
    for (;;) {
      ssize_t n = ::recv(fd, sink, sizeof sink, MSG_DONTWAIT);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !(events & (EPOLLHUP | EPOLLERR))) break;
      close_stream(fd);
      return;
    }
  }
  if (events & EPOLLOUT) {
    if (!flush(s)) close_stream(fd);
  }
}

// Sends what fits; arms EPOLLOUT while something is left. False: the
// stream is dead (the caller closes it).
bool ChangeHub::flush(Stream& s) {
  while (s.sent < s.out.size()) {
    ssize_t n = ::send(s.fd, s.out.data() + s.sent, s.out.size() - s.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      s.sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return false;
  }
  if (s.sent == s.out.size()) {
    s.out.clear();
    s.sent = 0;
  } else if (s.sent > (64u << 10)) {
    s.out.erase(0, s.sent);
    s.sent = 0;
  }
  const bool want = !s.out.empty();
  if (want != s.want_write) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
    ev.data.fd = s.fd;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, s.fd, &ev);
    s.want_write = want;
  }
  return true;
}

void ChangeHub::enqueue(Stream& s, const std::string& bytes) {
  s.out += bytes;
  if (!flush(s) || s.out.size() - s.sent > options_.max_buffered_bytes) close_stream(s.fd);
}

// A stream lasts no longer than its credentials (StreamTarget): checked here,
// at every heartbeat, so that a revoked node or app, or a user whose token
// expired, stops hearing of changes within one interval. The client
// reconnects and is refused (401/403).
void ChangeHub::close_unauthorized() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<int> ended;
  std::map<std::pair<std::string, std::string>, std::vector<int>> by_caller;
  for (auto& [fd, s] : streams_) {
    const StreamTarget& t = s->target;
    if (t.expires_at > 0 && t.expires_at <= now) {
      ended.push_back(fd);
    } else if (t.actor.rfind("node:", 0) == 0 || t.actor.rfind("app:", 0) == 0) {
      by_caller[{t.actor, t.household_id}].push_back(fd);
    }
  }
  if (conn_ && !by_caller.empty()) {
    std::vector<identity::credential_store::ActingCaller> callers;
    for (const auto& [who, fds] : by_caller) callers.push_back({who.first, who.second});
    try {
      for (const auto& actor : identity::credential_store::no_longer_allowed(*conn_, callers)) {
        for (const auto& [who, fds] : by_caller) {
          if (who.first == actor) ended.insert(ended.end(), fds.begin(), fds.end());
        }
      }
    } catch (const pqxx::broken_connection&) {
      std::cerr << "secretsd: change stream: lost the database connection; reconnecting\n";
      drop_connection();
    } catch (const pqxx::sql_error& e) {
      std::cerr << "secretsd: change stream: checking credentials failed (SQLSTATE "
                << e.sqlstate() << ")\n";
    }
  }
  for (int fd : ended) close_stream(fd);
  if (conn_) on_notifications();  // what arrived during the check
}

void ChangeHub::heartbeat() {
  close_unauthorized();
  const std::string beat = format_heartbeat();
  std::vector<int> fds;
  fds.reserve(streams_.size());
  for (auto& [fd, s] : streams_) fds.push_back(fd);
  for (int fd : fds) {
    auto it = streams_.find(fd);
    if (it != streams_.end()) enqueue(*it->second, beat);
  }
}

// ------------------------------------------------------------- database

bool ChangeHub::ensure_connection() {
  try {
    conn_ = std::make_unique<pqxx::connection>(options_.database_url);
    receiver_ = std::make_unique<Receiver>(*conn_, payloads_);  // sends LISTEN
    conn_fd_ = conn_->sock();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = conn_fd_;
    ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, conn_fd_, &ev);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      listening_ = true;
    }
    catch_up();
    if (conn_) on_notifications();  // what arrived while catching up
    return true;
  } catch (const std::exception&) {
    // libpq's text names hosts, never credentials; still, say only what failed.
    std::cerr << "secretsd: change stream: cannot listen for changes; retrying\n";
    drop_connection();
    return false;
  }
}

void ChangeHub::drop_connection() {
  if (conn_fd_ >= 0) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, conn_fd_, nullptr);
  conn_fd_ = -1;
  receiver_.reset();
  conn_.reset();
  next_connect_ = std::chrono::steady_clock::now() + kReconnectEvery;
  std::lock_guard<std::mutex> lock(mutex_);
  listening_ = false;
}

// After a reconnect: what the households with streams missed while no one
// listened is in the audit log, after the newest id the hub sent them.
void ChangeHub::catch_up() {
  std::vector<std::pair<std::string, long long>> todo;
  for (auto& [household, fds] : by_household_) {
    auto last = last_id_.find(household);
    if (last != last_id_.end()) todo.emplace_back(household, last->second);
  }
  for (auto& [household, after] : todo) {
    fetch_and_deliver(household, {after + 1, std::numeric_limits<long long>::max()});
  }
}

// Reading the audit log (fetch_and_deliver) runs queries on the LISTEN
// connection, and libpq takes in the notifications that arrive meanwhile:
// they wait in its buffer while the socket no longer reads as ready, so
// epoll would not report them until the next change. Hence: read again
// until a round brings none.
void ChangeHub::on_notifications() {
  for (;;) {
    try {
      conn_->get_notifs();
    } catch (const pqxx::broken_connection&) {
      std::cerr << "secretsd: change stream: lost the database connection; reconnecting\n";
      drop_connection();
      return;
    }
    if (payloads_.empty()) return;
    deliver_notified();
    if (!conn_) return;
  }
}

// One read of the audit log per household and batch of notifications.
void ChangeHub::deliver_notified() {
  std::map<std::string, Range> ranges;
  for (const auto& payload : payloads_) {
    std::string household;
    long long first = 0, last = 0;
    if (!parse_payload(payload, household, first, last)) continue;
    auto [it, fresh] = ranges.try_emplace(household, Range{first, last});
    if (!fresh) {
      it->second.first = std::min(it->second.first, first);
      it->second.last = std::max(it->second.last, last);
    }
  }
  payloads_.clear();
  for (const auto& [household, range] : ranges) {
    if (!conn_) return;
    // Nobody listens to this household. (Its last id is not moved to the
    // payload's: a forged one could hold back every later stream.)
    if (by_household_.count(household) == 0) {
      recent_.erase(household);
      continue;
    }
    fetch_and_deliver(household, range);
  }
}

void ChangeHub::fetch_and_deliver(const std::string& household, Range range) {
  long long after = range.first - 1;
  auto last = last_id_.find(household);
  if (last != last_id_.end()) after = std::max(after, last->second);
  try {
    for (;;) {
      pqxx::nontransaction tx(*conn_);
      // The hub reads every event for the household's streams and filters
      // per stream itself: as the household's admin, as before roles.
      const db::Context context{household, "secretsd:change-stream", "", "admin", ""};
      db::Session session(tx, context, false);
      pqxx::result rows = session.exec(kFetchSql, after, range.last, kPage);
      for (const auto& row : rows) {
        ChangeEvent e;
        if (!parse_change_event(row[0].as<long long>(), row[1].as<std::string>(), e)) continue;
        after = e.id;
        deliver(household, e);
      }
      if (rows.size() < static_cast<std::size_t>(kPage)) break;
    }
  } catch (const pqxx::broken_connection&) {
    std::cerr << "secretsd: change stream: lost the database connection; reconnecting\n";
    drop_connection();
  } catch (const pqxx::sql_error& e) {
    // A malformed household id in a forged payload (22P02), for one.
    if (e.sqlstate() != "22P02") {
      std::cerr << "secretsd: change stream: reading the audit log failed (SQLSTATE "
                << e.sqlstate() << ")\n";
    }
  }
}

void ChangeHub::deliver(const std::string& household, const ChangeEvent& e) {
  auto& last = last_id_[household];
  if (e.id <= last) return;
  last = e.id;
  auto& recent = recent_[household];
  recent.push_back(e);
  if (recent.size() > kRecent) recent.pop_front();
  auto h = by_household_.find(household);
  if (h == by_household_.end()) return;
  const std::string bytes = format_event(e);
  std::vector<int> fds(h->second.begin(), h->second.end());
  for (int fd : fds) {
    auto it = streams_.find(fd);
    if (it == streams_.end()) continue;
    Stream& s = *it->second;
    if (e.id <= s.last_id || !visible_to(e, s.target.node_id)) continue;
    s.last_id = e.id;
    enqueue(s, bytes);
  }
}

}  // namespace secretsd::events
