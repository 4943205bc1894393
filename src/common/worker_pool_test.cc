#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace strata {
namespace {

TEST(WorkerPoolTest, RunsEveryTaskAndStopRunsWhatWasQueued) {
  std::atomic<int> ran{0};
  {
    WorkerPool pool(2);
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(pool.Submit([&] { ran++; }));
    pool.Stop();
    EXPECT_EQ(ran.load(), 100);
    EXPECT_FALSE(pool.Submit([&] { ran++; }));
  }
  EXPECT_EQ(ran.load(), 100);
}

TEST(WorkerPoolTest, TasksRunOnItsThreadsAndConcurrently) {
  WorkerPool pool(2);
  std::promise<void> first_started, release;
  auto release_future = release.get_future().share();
  std::promise<std::thread::id> second_ran;
  pool.Submit([&] {
    first_started.set_value();
    release_future.wait();
  });
  first_started.get_future().wait();
  // The first task blocks one thread; the second still runs on the other.
  pool.Submit([&] { second_ran.set_value(std::this_thread::get_id()); });
  auto id = second_ran.get_future();
  ASSERT_EQ(id.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_NE(id.get(), std::this_thread::get_id());
  release.set_value();
}

}  // namespace
}  // namespace strata
