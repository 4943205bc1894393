// EventLoop: descriptors, posted closures, timers and deferred work all run
// on the loop's thread, in both the sleeping and the polling mode, and the
// loop ends when stopped from another thread, whether it polls or sleeps.
#include "cache/server/event_loop.h"

#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace strata::cache {
namespace {

// Polls `done` with a deadline instead of sleeping a fixed time.
template <typename F>
bool Eventually(F done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Echoes what it reads, so the test sees that readiness reached it.
class Echo final : public EventLoop::Handler {
 public:
  explicit Echo(int fd) : fd_(fd) {}
  void OnEvents(uint32_t events) override {
    char buf[64];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) (void)!::write(fd_, buf, static_cast<size_t>(n));
  }

 private:
  int fd_;
};

void RunsEverythingOnItsThreadAndStops(uint64_t poll_us) {
  EventLoop loop(SystemClock::Default().get(), poll_us);
  ASSERT_TRUE(loop.Open().ok());
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  Echo echo(sv[1]);
  ASSERT_TRUE(loop.Add(sv[1], EPOLLIN, &echo).ok());
  std::thread::id loop_thread;
  std::atomic<int> posted{0};
  std::vector<int> fired;  // touched on the loop thread only
  std::atomic<bool> timers_done{false};
  std::thread t([&] {
    loop_thread = std::this_thread::get_id();
    loop.Run();
  });

  // Posted from another thread, many at once.
  for (int i = 0; i < 100; i++) {
    loop.Post([&] {
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      posted++;
    });
  }
  ASSERT_TRUE(Eventually([&] { return posted.load() == 100; }));

  // A descriptor's readiness reaches its handler.
  ASSERT_EQ(::write(sv[0], "ping", 4), 4);
  char reply[4] = {};
  ASSERT_TRUE(Eventually([&] { return ::read(sv[0], reply, sizeof reply) == 4; }));
  EXPECT_EQ(std::string(reply, 4), "ping");

  // Timers fire in deadline order; a cancelled one never does; deferred
  // work runs within the round that asked for it.
  loop.Post([&] {
    loop.RunAfter(20'000, [&] { fired.push_back(3); timers_done = true; });
    loop.RunAfter(1'000, [&] { fired.push_back(1); });
    uint64_t cancelled = loop.RunAfter(5'000, [&] { fired.push_back(99); });
    loop.RunAfter(10'000, [&] { fired.push_back(2); });
    loop.Cancel(cancelled);
    loop.Defer([&] { fired.push_back(0); });
  });
  ASSERT_TRUE(Eventually([&] { return timers_done.load(); }));

  // Stopped while idle (sleeping, or polling then sleeping).
  loop.Stop();
  t.join();
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 2, 3}));
  loop.Remove(sv[1]);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(EventLoop, SleepingRunsEverythingOnItsThreadAndStops) { RunsEverythingOnItsThreadAndStops(0); }
TEST(EventLoop, PollingRunsEverythingOnItsThreadAndStops) { RunsEverythingOnItsThreadAndStops(200); }

TEST(EventLoop, StopsWhileBusyPolling) {
  EventLoop loop(SystemClock::Default().get(), 10'000'000);  // never idle long enough to sleep
  ASSERT_TRUE(loop.Open().ok());
  std::atomic<int> ran{0};
  std::thread t([&] { loop.Run(); });
  loop.Post([&] { ran++; });
  ASSERT_TRUE(Eventually([&] { return ran.load() == 1; }));
  loop.Stop();
  t.join();
}

}  // namespace
}  // namespace strata::cache
