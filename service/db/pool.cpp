#include "db/pool.h"

#include <poll.h>

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

void Lease::give_back() {
  if (pool_ != nullptr && conn_) pool_->release(std::move(conn_), broken_);
  pool_ = nullptr;
}

// ---------------------------------------------------------- ConnectionPool

ConnectionPool::ConnectionPool(std::string conninfo, std::size_t size, OnConnect on_connect)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size),
      on_connect_(std::move(on_connect)) {}

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

std::unique_ptr<pqxx::connection> ConnectionPool::open_connection() {
  auto conn = std::make_unique<pqxx::connection>(conninfo_);
  // libpqxx 6 silently reconnects a broken connection on the next
  // transaction, losing session state mid-lease; the pool replaces broken
  // connections itself, explicitly.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  if (on_connect_) on_connect_(*conn);
  return conn;
}

void ConnectionPool::forget_slot() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --open_;
  }
  available_.notify_one();
}

Lease ConnectionPool::acquire(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    bool ready = available_.wait_until(
        lock, deadline, [this] { return !idle_.empty() || open_ < size_; });
    if (!ready) throw PoolTimeout();

    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (still_alive(*conn)) return Lease(*this, std::move(conn));
      --open_;  // dead while idle: drop it and look again (may open anew)
      continue;
    }

    ++open_;  // reserve the slot, then connect without holding the lock
    lock.unlock();
    try {
      return Lease(*this, open_connection());
    } catch (...) {
      forget_slot();
      throw;
    }
  }
}

void ConnectionPool::release(std::unique_ptr<pqxx::connection> conn, bool broken) {
  bool keep = !broken && conn->is_open();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (keep) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
  }
  available_.notify_one();
  // A dropped connection is closed here, outside the lock.
}

}  // namespace secretsd::db
