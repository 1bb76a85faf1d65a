#include "db/pool.h"

#include <cxxabi.h>
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <typeinfo>

#include <pqxx/except>

namespace secretsd::db {

namespace {

// A connection whose backend was terminated still reports is_open() until
// it is used. An idle connection (no query in flight, no LISTEN) has nothing
// to read, so pending input means the termination notice or EOF arrived:
// a zero-timeout poll tells, with no round trip. A false alarm only costs a
// reconnect.
bool still_alive(pqxx::connection& conn) {
  if (!conn.is_open()) return false;
  pollfd pfd{conn.sock(), POLLIN, 0};
  return pfd.fd >= 0 && ::poll(&pfd, 1, 0) == 0;
}

}  // namespace

// ------------------------------------------------------------------ Lease

Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), broken_(other.broken_) {
  other.pool_ = nullptr;
}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = other.pool_;
    conn_ = std::move(other.conn_);
    broken_ = other.broken_;
    other.pool_ = nullptr;
  }
  return *this;
}

Lease::~Lease() { give_back(); }

void Lease::mark_broken() {
  broken_ = true;
  if (pool_ != nullptr && pool_->availability_ != nullptr) {
    pool_->availability_->lost(Availability::kUnreachable);
  }
}

void Lease::give_back() {
  if (pool_ != nullptr && conn_) pool_->release(std::move(conn_), broken_);
  pool_ = nullptr;
}

bool is_unavailable(const std::exception& error) noexcept {
  if (dynamic_cast<const PoolTimeout*>(&error) != nullptr ||
      dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) {
    return true;
  }
  // Class 40 (serialization failure, deadlock detected): the transaction
  // was rolled back whole, and the same request may simply be sent again.
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error);
  return sql != nullptr && sql->sqlstate().rfind("40", 0) == 0;
}

std::string failure_label(const std::exception& error) {
  if (dynamic_cast<const PoolTimeout*>(&error) != nullptr) return "pool timeout";
  if (dynamic_cast<const pqxx::broken_connection*>(&error) != nullptr) return "broken connection";
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    return sql->sqlstate().empty() ? "sql error" : "sqlstate " + sql->sqlstate();
  }
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(typeid(error).name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(typeid(error).name());
}

// ---------------------------------------------------------- ConnectionPool

ConnectionPool::ConnectionPool(std::string conninfo, std::size_t size, OnConnect on_connect,
                               Availability* availability)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size),
      on_connect_(std::move(on_connect)), availability_(availability) {}

// Every Lease must be gone by now: a lease outliving its pool is a bug.
ConnectionPool::~ConnectionPool() = default;

std::size_t ConnectionPool::open_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return open_;
}

std::size_t ConnectionPool::idle_connections() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return idle_.size();
}

std::size_t ConnectionPool::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waiters_.size();
}

std::uint64_t ConnectionPool::waits_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return waits_;
}

std::uint64_t ConnectionPool::timeouts_total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return timeouts_;
}

std::unique_ptr<pqxx::connection> ConnectionPool::open_connection() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo_);
  } catch (const pqxx::broken_connection&) {
    if (availability_ != nullptr) availability_->lost(Availability::kUnreachable);
    throw;
  }
  if (availability_ != nullptr) availability_->reachable();
  // libpqxx 6 silently reconnects a broken connection on the next
  // transaction, losing session state mid-lease; the pool replaces broken
  // connections itself, explicitly.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  // Errors carry their SQLSTATE and structured fields (schema, table,
  // column) in their text, so callers map them by those, never by wording
  // (api/error.cpp).
  conn->set_verbosity(pqxx::connection_base::verbose);
  if (on_connect_) on_connect_(*conn);
  return conn;
}

// A slot (open_ already counts it) is no longer used: the oldest waiter
// may open a connection in it, or else it is freed.
void ConnectionPool::forget_slot() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (waiters_.empty()) {
    --open_;
    return;
  }
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->may_open = true;
  next->wake.notify_one();  // under the lock: `next` lives only until it wakes
}

// Opens a connection in a slot the caller already holds.
Lease ConnectionPool::lease_new() {
  try {
    return Lease(*this, open_connection());
  } catch (...) {
    forget_slot();
    throw;
  }
}

// The poll in still_alive() runs outside the lock; a connection that died
// while idle is replaced in the same slot.
Lease ConnectionPool::lease_checked(std::unique_ptr<pqxx::connection> conn) {
  if (still_alive(*conn)) return Lease(*this, std::move(conn));
  conn.reset();
  return lease_new();
}

Lease ConnectionPool::acquire(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiters_.empty() && !idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    return lease_checked(std::move(conn));
  }
  if (waiters_.empty() && open_ < size_) {
    ++open_;
    lock.unlock();
    return lease_new();
  }

  Waiter me;
  waiters_.push_back(&me);
  ++waits_;
  const bool served =
      me.wake.wait_until(lock, deadline, [&me] { return me.handed || me.may_open; });
  if (!served) {
    waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &me));
    ++timeouts_;
    throw PoolTimeout();
  }
  // release()/forget_slot() took us off the queue.
  auto conn = std::move(me.handed);
  lock.unlock();
  if (conn) return lease_checked(std::move(conn));
  return lease_new();
}

void ConnectionPool::release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  if (broken || !conn->is_open()) {
    conn.reset();  // closed outside the lock
    forget_slot();
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (waiters_.empty()) {
    idle_.push_back(std::move(conn));
    return;
  }
  Waiter* next = waiters_.front();
  waiters_.pop_front();
  next->handed = std::move(conn);
  next->wake.notify_one();  // under the lock: `next` lives only until it wakes
}

}  // namespace secretsd::db
