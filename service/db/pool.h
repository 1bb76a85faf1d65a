// A fixed-size pool of libpqxx connections. libpqxx 6.4 has no pool and a
// pqxx::connection must only be used by one thread at a time, so every
// request borrows one exclusively through a Lease.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "db/availability.h"

namespace secretsd::db {

// How long a request waits for a connection before it is answered 503: one
// value for every route, so overload is refused alike everywhere.
inline constexpr std::chrono::milliseconds kPoolWait{2000};

// Every connection was leased for the whole wait. The HTTP layer answers 503.
class PoolTimeout : public std::runtime_error {
 public:
  PoolTimeout() : std::runtime_error("database connection pool exhausted") {}
};

// A pool timeout, a broken connection, or a transaction the database
// rolled back to break a deadlock or a serialization conflict: unavailable
// for now, and the request may be retried (the transport answers 503).
bool is_unavailable(const std::exception& error) noexcept;

// Names a failure for the log without its text, which can quote values:
// "sqlstate 40P01", "pool timeout", "broken connection", else the
// exception's type.
std::string failure_label(const std::exception& error);

class ConnectionPool;

// Exclusive use of one connection; returns it to the pool when destroyed.
// A connection that is closed, or that the holder marked broken, is dropped
// instead and a fresh one is opened by a later acquire().
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  pqxx::connection& conn() { return *conn_; }
  pqxx::connection* operator->() { return conn_.get(); }
  pqxx::connection& operator*() { return *conn_; }

  // Call after catching pqxx::broken_connection (with_tx does this).
  void mark_broken();

 private:
  friend class ConnectionPool;
  Lease(ConnectionPool& pool, std::unique_ptr<pqxx::connection> conn)
      : pool_(&pool), conn_(std::move(conn)) {}
  void give_back();

  ConnectionPool* pool_;
  std::unique_ptr<pqxx::connection> conn_;
  bool broken_ = false;
};

class ConnectionPool {
 public:
  // Runs once on every newly opened connection. May throw; the connection is
  // dropped. (Not for conn.prepare(): secretsd sends unnamed statements only,
  // so that PgBouncer's transaction mode works.)
  using OnConnect = std::function<void(pqxx::connection&)>;

  // `conninfo`: libpq keyword form ("host=... dbname=...") or a
  // postgresql:// URL; empty means libpq's PG* environment variables.
  // Connections are opened lazily, at most `size` at a time.
  // `availability`, when given, hears of every failed open and broken
  // connection (lost) and every successful open (reachable again); it must
  // outlive the pool.
  ConnectionPool(std::string conninfo, std::size_t size, OnConnect on_connect = {},
                 Availability* availability = nullptr);
  ~ConnectionPool();
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // Waits at most `timeout` for a connection, else throws PoolTimeout.
  // Waiters are served first come, first served: a released connection is
  // handed to the oldest waiter, never to a newcomer (without that, under
  // saturation a few unlucky requests waited hundreds of milliseconds).
  // Opening a new connection may throw pqxx::broken_connection (database
  // down); the slot is released again.
  Lease acquire(std::chrono::milliseconds timeout = kPoolWait);

  std::size_t size() const { return size_; }
  std::size_t open_connections() const;  // idle + leased
  std::size_t idle_connections() const;
  std::size_t waiting() const;  // callers blocked in acquire()
  std::uint64_t waits_total() const;     // acquire() calls that had to queue
  std::uint64_t timeouts_total() const;  // acquire() calls that threw PoolTimeout

 private:
  // One blocked acquire(); lives on its stack while it is queued.
  struct Waiter {
    std::condition_variable wake;
    std::unique_ptr<pqxx::connection> handed;  // set by release()
    bool may_open = false;                     // a freed slot was passed on
  };

  friend class Lease;
  void release(std::unique_ptr<pqxx::connection> conn, bool broken);
  std::unique_ptr<pqxx::connection> open_connection();
  void forget_slot();
  Lease lease_checked(std::unique_ptr<pqxx::connection> conn);
  Lease lease_new();

  const std::string conninfo_;
  const std::size_t size_;
  const OnConnect on_connect_;
  Availability* const availability_;

  mutable std::mutex mutex_;
  std::deque<Waiter*> waiters_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  std::size_t open_ = 0;  // idle + leased + being opened
  std::uint64_t waits_ = 0;
  std::uint64_t timeouts_ = 0;
};

}  // namespace secretsd::db
