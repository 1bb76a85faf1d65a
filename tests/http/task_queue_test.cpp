#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

#include "http/task_queue.h"

namespace secretsd::http {
namespace {

using namespace std::chrono_literals;

TEST(HttpTaskQueue, RunsTasksOnWorkers) {
  BoundedTaskQueue q(2, 8);
  std::atomic<int> ran{0};
  std::atomic<int> flagged{0};
  for (int i = 0; i < 5; ++i) {
    q.enqueue([&] {
      if (BoundedTaskQueue::running_as_overflow()) ++flagged;
      ++ran;
    });
  }
  q.shutdown();
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(flagged, 0);
}

TEST(HttpTaskQueue, TasksBeyondTheBacklogRunFlaggedAsOverflow) {
  BoundedTaskQueue q(1, 1);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::promise<void> started;
  q.enqueue([&] {
    started.set_value();
    gate.wait();  // occupies the only worker
  });
  started.get_future().wait();
  std::atomic<int> normal{0};
  std::atomic<int> overflow{0};
  auto count = [&] { ++(BoundedTaskQueue::running_as_overflow() ? overflow : normal); };
  q.enqueue(count);  // fills the one pending slot
  q.enqueue(count);  // refused
  q.enqueue(count);  // refused
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (overflow < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(overflow, 2);  // ran while the worker was still busy
  EXPECT_EQ(normal, 0);
  release.set_value();
  q.shutdown();
  EXPECT_EQ(normal, 1);
  EXPECT_FALSE(BoundedTaskQueue::running_as_overflow());
}

}  // namespace
}  // namespace secretsd::http
