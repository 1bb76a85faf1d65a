#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "db/pool.h"
#include "db/tx.h"
#include "db_test_support.h"

namespace secretsd::db {
namespace {

using namespace std::chrono_literals;

class DbPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_DATABASE();
    scratch_ = std::make_unique<testing::ScratchDatabase>();
  }
  std::unique_ptr<testing::ScratchDatabase> scratch_;
};

// The access log names a failure by these labels: never the error's text,
// which can quote a parameter or a row.
TEST(DbFailureLabel, NamesTheFailureNotItsText) {
  EXPECT_EQ(db::failure_label(pqxx::sql_error("ERROR: Key (k)=(CANARY)", "q", "23505")),
            "sqlstate 23505");
  EXPECT_EQ(db::failure_label(db::PoolTimeout()), "pool timeout");
  EXPECT_EQ(db::failure_label(pqxx::broken_connection("CANARY")), "broken connection");
  EXPECT_EQ(db::failure_label(std::invalid_argument("CANARY")), "std::invalid_argument");
  EXPECT_TRUE(db::is_unavailable(db::PoolTimeout()));
  EXPECT_TRUE(db::is_unavailable(pqxx::sql_error("x", "q", "40P01")));   // deadlock: retry
  EXPECT_TRUE(db::is_unavailable(pqxx::sql_error("x", "q", "40001")));   // serialization
  EXPECT_FALSE(db::is_unavailable(pqxx::sql_error("x", "q", "23505")));  // a real conflict
  EXPECT_FALSE(db::is_unavailable(std::runtime_error("x")));
}

TEST_F(DbPoolTest, ManyThreadsShareASmallPool) {
  ConnectionPool pool(scratch_->conninfo(), 3);
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        Lease lease = pool.acquire(10s);
        int v = with_tx(lease, [](pqxx::work& tx) { return tx.exec1("SELECT 1")[0].as<int>(); });
        if (v == 1) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, 400);
  EXPECT_LE(pool.open_connections(), 3u);
  EXPECT_EQ(pool.idle_connections(), pool.open_connections());
}

TEST_F(DbPoolTest, AcquireTimesOutWhenExhausted) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  Lease held = pool.acquire(1s);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(pool.acquire(150ms), PoolTimeout);
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 2s);
}

TEST_F(DbPoolTest, ReleasedLeaseWakesAWaiter) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  auto held = std::make_unique<Lease>(pool.acquire(1s));
  std::thread releaser([&] {
    // Releases once the main thread is queued in acquire(), not after a
    // guessed delay: the lease must wake a caller that is really waiting.
    while (pool.waiting() != 1) std::this_thread::sleep_for(1ms);
    held.reset();
  });
  EXPECT_NO_THROW(pool.acquire(5s));
  releaser.join();
}

// Under saturation a newcomer must not overtake a caller already waiting:
// connections go to waiters in arrival order, and a timed-out waiter leaves
// the queue without taking one.
TEST_F(DbPoolTest, WaitersAreServedInArrivalOrder) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  auto held = std::make_unique<Lease>(pool.acquire(1s));
  EXPECT_THROW(pool.acquire(50ms), PoolTimeout);
  EXPECT_EQ(pool.waiting(), 0u);

  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.emplace_back([&, i] {
      Lease lease = pool.acquire(10s);
      std::lock_guard<std::mutex> lock(order_mutex);
      order.push_back(i);
    });
    // The next waiter starts only once this one is queued.
    while (pool.waiting() != static_cast<std::size_t>(i + 1)) std::this_thread::sleep_for(1ms);
  }
  held.reset();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(pool.waiting(), 0u);
  EXPECT_EQ(pool.open_connections(), 1u);
}

TEST_F(DbPoolTest, ANewcomerDoesNotOvertakeAWaiter) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  auto held = std::make_unique<Lease>(pool.acquire(1s));
  std::promise<void> waiter_served;
  std::promise<void> let_go;
  std::thread waiter([&] {
    Lease lease = pool.acquire(10s);
    waiter_served.set_value();
    let_go.get_future().wait();
  });
  while (pool.waiting() != 1) std::this_thread::sleep_for(1ms);
  held.reset();
  // Released with a waiter queued: the connection is already the waiter's.
  EXPECT_THROW(pool.acquire(0ms), PoolTimeout);
  waiter_served.get_future().wait();
  let_go.set_value();
  waiter.join();
  EXPECT_NO_THROW(pool.acquire(1s));
}

TEST_F(DbPoolTest, BrokenConnectionIsReplaced) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  int victim_pid = 0;
  {
    Lease lease = pool.acquire(1s);
    victim_pid = lease->backendpid();
  }
  {
    pqxx::connection killer(scratch_->conninfo());
    pqxx::nontransaction tx(killer);
    // With a timeout, pg_terminate_backend() returns once the backend has
    // exited, so its socket is closed: no sleep guessing how long that takes.
    EXPECT_TRUE(tx.exec_params1("SELECT pg_terminate_backend($1, 30000)", victim_pid)[0].as<bool>());
  }
  // Either acquire notices the dead idle connection, or the first use
  // fails with broken_connection and the lease is dropped; in both cases
  // the next use runs on a new backend.
  int pid_now = 0;
  int attempts = 0;
  for (; attempts < 2 && pid_now == 0; ++attempts) {
    Lease lease = pool.acquire(1s);
    try {
      pid_now = with_tx(lease, [](pqxx::work& tx) {
        return tx.exec1("SELECT pg_backend_pid()")[0].as<int>();
      });
    } catch (const pqxx::broken_connection&) {
    }
  }
  EXPECT_NE(pid_now, 0);
  EXPECT_NE(pid_now, victim_pid);
  EXPECT_EQ(attempts, 1) << "acquire() should have noticed the dead idle connection";
  EXPECT_EQ(pool.open_connections(), 1u);
}

TEST_F(DbPoolTest, BrokenDuringUseIsDroppedOnRelease) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  Lease lease = pool.acquire(1s);
  int pid = lease->backendpid();
  {
    pqxx::connection killer(scratch_->conninfo());
    pqxx::nontransaction tx(killer);
    EXPECT_TRUE(tx.exec_params1("SELECT pg_terminate_backend($1, 30000)", pid)[0].as<bool>());
  }
  EXPECT_THROW(with_tx(lease, [](pqxx::work& tx) { tx.exec("SELECT 1"); }), pqxx::broken_connection);
  { Lease gone = std::move(lease); }
  EXPECT_EQ(pool.open_connections(), 0u);
  Lease fresh = pool.acquire(1s);
  EXPECT_NE(fresh->backendpid(), pid);
}

TEST_F(DbPoolTest, UnreachableServerThrowsAndFreesTheSlot) {
  ConnectionPool pool("host=/nonexistent-socket-dir port=1 connect_timeout=1", 1);
  EXPECT_THROW(pool.acquire(1s), pqxx::broken_connection);
  EXPECT_EQ(pool.open_connections(), 0u);
}

// Stand-ins for the extension's secrets.set_context (0.3.0), recording its
// arguments in transaction-local settings, and for secretsd.context_role
// (migrations/0012), naming the marker it was given.
void create_context_stub(const std::string& conninfo) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec(R"(
    CREATE SCHEMA secrets;
    CREATE SCHEMA secretsd;
    CREATE FUNCTION secrets.set_context(household_id uuid, actor text, node_id text, role text,
                                        key_prefix text DEFAULT NULL)
    RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('stub.household', household_id::text, true);
      PERFORM set_config('stub.actor', actor, true);
      PERFORM set_config('stub.node', coalesce(node_id, '<null>'), true);
      PERFORM set_config('stub.role', role, true);
      PERFORM set_config('stub.prefix', coalesce(key_prefix, '<null>'), true);
    END $$;
    CREATE FUNCTION secretsd.context_role(p_household uuid, p_actor text, p_role text)
    RETURNS text LANGUAGE sql AS $$
      SELECT CASE WHEN p_role LIKE 'membership%' THEN 'read ' || p_role ELSE p_role END
    $$;)");
  tx.commit();
}

TEST_F(DbPoolTest, HouseholdTxSetsTheContextFirst) {
  create_context_stub(scratch_->conninfo());
  ConnectionPool pool(scratch_->conninfo(), 2);
  Lease lease = pool.acquire(1s);
  const std::string household = "0b6f8a57-3f4e-4d1f-9c49-0d5c7f2a9e11";
  const Context user{household, "user:alice", "", "", ""};
  auto row = with_household_tx(lease, user, [](pqxx::work& tx) {
    return tx.exec1(
        "SELECT current_setting('stub.household'), current_setting('stub.actor'),"
        "       current_setting('stub.node'), current_setting('stub.role'),"
        "       current_setting('stub.prefix')");
  });
  EXPECT_EQ(row[0].as<std::string>(), household);
  EXPECT_EQ(row[1].as<std::string>(), "user:alice");
  EXPECT_EQ(row[2].as<std::string>(), "<null>");
  // A user's role is the membership's, read locked: the transaction may write.
  EXPECT_EQ(row[3].as<std::string>(), "read membership for write");
  EXPECT_EQ(row[4].as<std::string>(), "<null>");

  const Context node_context{household, "node", "kitchen-1", "writer", ""};
  auto node = with_household_tx(lease, node_context, [](pqxx::work& tx) {
    return tx.exec1("SELECT current_setting('stub.node') || ' ' || current_setting('stub.role')")[0]
        .as<std::string>();
  });
  EXPECT_EQ(node, "kitchen-1 writer");

  // Transaction-local: nothing leaks into the next transaction.
  auto after = with_tx(lease, [](pqxx::work& tx) {
    return tx.exec1("SELECT coalesce(current_setting('stub.household', true), '')")[0]
        .as<std::string>();
  });
  EXPECT_EQ(after, "");
}

TEST_F(DbPoolTest, OneStatementFormFoldsTheContextIn) {
  create_context_stub(scratch_->conninfo());
  ConnectionPool pool(scratch_->conninfo(), 1);
  Lease lease = pool.acquire(1s);
  auto actor = with_tx(lease, [](pqxx::work& tx) {
    return tx.exec_params1(
        "SELECT current_setting('stub.actor') || ' ' || current_setting('stub.role') || ' ' ||"
        " current_setting('stub.prefix') FROM " SECRETSD_SET_CONTEXT " AS ctx",
        "0b6f8a57-3f4e-4d1f-9c49-0d5c7f2a9e11", "app", "", "reader", "WEATHER_")[0]
        .as<std::string>();
  });
  EXPECT_EQ(actor, "app reader WEATHER_");
}

TEST_F(DbPoolTest, FailedTxRollsBackAndKeepsTheConnection) {
  ConnectionPool pool(scratch_->conninfo(), 1);
  Lease lease = pool.acquire(1s);
  with_tx(lease, [](pqxx::work& tx) { tx.exec("CREATE TABLE t (v int)"); });
  EXPECT_THROW(with_tx(lease, [](pqxx::work& tx) {
                 tx.exec("INSERT INTO t VALUES (1)");
                 tx.exec("SELECT 1/0");
               }),
               pqxx::sql_error);
  auto n = with_tx(lease, [](pqxx::work& tx) { return tx.exec1("SELECT count(*) FROM t")[0].as<int>(); });
  EXPECT_EQ(n, 0);
}

}  // namespace
}  // namespace secretsd::db
