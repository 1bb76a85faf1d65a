#include "http/task_queue.h"

namespace secretsd::http {

namespace {
// Per-thread, set only for the duration of one refused task.
thread_local bool t_running_as_overflow = false;

class OverflowScope {
 public:
  OverflowScope() { t_running_as_overflow = true; }
  ~OverflowScope() { t_running_as_overflow = false; }
  OverflowScope(const OverflowScope&) = delete;
  OverflowScope& operator=(const OverflowScope&) = delete;
};
}  // namespace

BoundedTaskQueue::BoundedTaskQueue(std::size_t workers, std::size_t max_pending,
                                   std::size_t max_overflow)
    : max_pending_(max_pending), max_overflow_(max_overflow) {
  if (workers == 0) workers = 1;
  workers_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([this] { work_loop(); });
  overflow_thread_ = std::thread([this] { overflow_loop(); });
}

BoundedTaskQueue::~BoundedTaskQueue() { shutdown(); }

bool BoundedTaskQueue::running_as_overflow() { return t_running_as_overflow; }

std::size_t BoundedTaskQueue::pending() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return pending_.size();
}

void BoundedTaskQueue::run_as_overflow(const Task& task) {
  OverflowScope scope;
  task();
}

void BoundedTaskQueue::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (pending_.size() < max_pending_ && !stopping_) {
    pending_.push_back(std::move(fn));
    lock.unlock();
    work_ready_.notify_one();
    return;
  }
  if (overflow_.size() < max_overflow_ && !stopping_) {
    overflow_.push_back(std::move(fn));
    lock.unlock();
    overflow_ready_.notify_one();
    return;
  }
  lock.unlock();
  // Last resort keeps the socket from leaking; the 503 path is a single
  // non-blocking write plus a short bounded drain.
  run_as_overflow(fn);
}

void BoundedTaskQueue::work_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      work_ready_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping and drained
      task = std::move(pending_.front());
      pending_.pop_front();
    }
    task();
  }
}

void BoundedTaskQueue::overflow_loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      overflow_ready_.wait(lock, [this] { return stopping_ || !overflow_.empty(); });
      if (overflow_.empty()) return;
      task = std::move(overflow_.front());
      overflow_.pop_front();
    }
    run_as_overflow(task);
  }
}

void BoundedTaskQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  work_ready_.notify_all();
  overflow_ready_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  if (overflow_thread_.joinable()) overflow_thread_.join();
}

}  // namespace secretsd::http
