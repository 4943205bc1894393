// WorkerLoop: handlers run in both modes, and the loop ends when the context
// is stopped, whether it is polling or sleeping at the time.
#include "cache/server/worker_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace strata::cache {
namespace {

void RunsHandlersAndStops(uint64_t poll_us) {
  asio::io_context ctx(1);
  auto guard = asio::make_work_guard(ctx);
  std::atomic<int> ran{0};
  std::thread t([&] { RunWorkerLoop(ctx, SystemClock::Default().get(), poll_us); });
  for (int i = 0; i < 100; i++) asio::post(ctx, [&] { ran++; });
  while (ran.load() < 100) std::this_thread::yield();
  // Let the loop go idle (past poll_us) before stopping it.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  asio::post(ctx, [&] { ran++; });
  while (ran.load() < 101) std::this_thread::yield();
  ctx.stop();
  t.join();
  EXPECT_EQ(ran.load(), 101);
}

TEST(WorkerLoop, BlockingRunsHandlersAndStops) { RunsHandlersAndStops(0); }
TEST(WorkerLoop, PollingRunsHandlersAndStops) { RunsHandlersAndStops(200); }

}  // namespace
}  // namespace strata::cache
