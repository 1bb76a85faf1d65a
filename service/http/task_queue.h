// A fixed-size worker pool with a bounded backlog, replacing httplib's
// ThreadPool (whose backlog is unbounded: under overload every accepted
// connection waits forever in memory).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace secretsd::http {

// httplib 0.11.4's TaskQueue::enqueue returns void and the task is an opaque
// closure over the accepted socket, so a queue cannot refuse by returning
// false, and dropping the closure would leak the socket. Instead a refused
// task is still run, but on a separate "overflow" thread and with
// running_as_overflow() true; http::Server's connection handler checks that
// flag and answers 503 straight onto the socket without parsing the request.
class BoundedTaskQueue : public httplib::TaskQueue {
 public:
  // `workers` threads run tasks; at most `max_pending` wait for a worker.
  // At most `max_overflow` refused tasks wait for the overflow thread; past
  // that they run on the enqueuing (accept) thread, still flagged.
  BoundedTaskQueue(std::size_t workers, std::size_t max_pending,
                   std::size_t max_overflow = 256);
  ~BoundedTaskQueue() override;

  BoundedTaskQueue(const BoundedTaskQueue&) = delete;
  BoundedTaskQueue& operator=(const BoundedTaskQueue&) = delete;

  void enqueue(std::function<void()> fn) override;
  // Runs every queued task (each closes its connection), then joins.
  void shutdown() override;

  // True while the current thread runs a task this queue refused.
  static bool running_as_overflow();

  std::size_t pending() const;

 private:
  using Task = std::function<void()>;

  void work_loop();
  void overflow_loop();
  static void run_as_overflow(const Task& task);

  const std::size_t max_pending_;
  const std::size_t max_overflow_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable overflow_ready_;
  std::deque<Task> pending_;
  std::deque<Task> overflow_;
  bool stopping_ = false;

  std::vector<std::thread> workers_;
  std::thread overflow_thread_;
};

}  // namespace secretsd::http
