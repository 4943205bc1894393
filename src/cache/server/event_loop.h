// EventLoop: one cache worker thread's reactor — epoll over its sockets,
// closures posted from other threads, and timers — written for the request
// path of a cache, where a request costs a few microseconds and every
// syscall and lock around it shows.
//
// Sockets are registered level-triggered: a connection reads only when epoll
// says it has bytes (no speculative read that ends in EAGAIN), and a socket
// left with unread bytes is reported again on the next round. One round:
// epoll_wait, each ready handler's OnEvents, then the posted closures, the
// due timers, and the deferred closures (work that must not run inside a
// handler, such as deleting that handler).
//
// Busy polling (poll_us > 0): after its last event the loop keeps calling
// epoll_wait with a zero timeout for up to poll_us microseconds before it
// sleeps, so a busy worker never sleeps between requests, and neither it nor
// its clients pay for a wake-up (on a VM an inter-processor interrupt and an
// exit to the hypervisor). This is the adaptive polling of Seastar's reactor
// and of Linux's SO_BUSY_POLL, bounded in time. It pays only when the worker
// has a core to itself: the loop counts its involuntary context switches
// (getrusage, every kCheckMicros while it polls), and after kPreemptionsMax
// of them in one period it stops polling for kBackoffMicros.
//
// Thread-safety: Post() and Stop() may be called from any thread; everything
// else runs on the loop's thread (the one in Run()), or before Run().
// Ownership: borrows the clock and the handlers (a handler must be removed
// before it is destroyed); owns its epoll and eventfd descriptors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "common/result.h"
#include "env/clock.h"

namespace strata::cache {

class EventLoop {
 public:
  // Receives the epoll events (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP...) of
  // one registered descriptor.
  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void OnEvents(uint32_t events) = 0;
  };

  EventLoop(const Clock* clock, uint64_t poll_us);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  Status Open();

  // Registers, changes or removes `fd` (level-triggered `events`).
  Status Add(int fd, uint32_t events, Handler* handler);
  Status Modify(int fd, uint32_t events, Handler* handler);
  void Remove(int fd);

  // Runs `fn` on the loop's thread, soon (any thread).
  void Post(std::function<void()> fn);
  // Runs `fn` at the end of the current round (loop thread only).
  void Defer(std::function<void()> fn);
  // Runs `fn` after `delay_us` unless cancelled first; returns the timer's id
  // (loop thread only).
  uint64_t RunAfter(uint64_t delay_us, std::function<void()> fn);
  void Cancel(uint64_t timer_id);

  // Runs until Stop(); then returns (posted closures not yet run are dropped).
  void Run();
  void Stop();

 private:
  static constexpr int kEventsMax = 256;
  // While polling, the loop checks this often whether it is being preempted.
  static constexpr uint64_t kCheckMicros = 10'000;
  // Involuntary context switches within one check period that mean the cores
  // are oversubscribed (a rare kernel thread on the worker's core causes one).
  static constexpr long kPreemptionsMax = 2;
  // How long the loop then stops polling: spinning would take CPU from the
  // clients and from everything else on the machine.
  static constexpr uint64_t kBackoffMicros = 1'000'000;

  // epoll_wait's timeout for this round: 0 while polling, else until the
  // next timer (-1: none).
  int WaitTimeoutMs(uint64_t now);
  void RunPosted();
  void RunDueTimers(uint64_t now);
  void RunDeferred();
  void Wake();

  const Clock* const clock_;
  const uint64_t poll_us_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stopped_{false};

  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;  // GUARDED_BY(posted_mu_)
  std::atomic<bool> wake_pending_{false};      // an eventfd write not yet consumed

  std::vector<std::function<void()>> deferred_;
  struct TimerKey {
    uint64_t deadline_us;
    uint64_t id;
    bool operator<(const TimerKey& o) const {
      return deadline_us != o.deadline_us ? deadline_us < o.deadline_us : id < o.id;
    }
  };
  std::map<TimerKey, std::function<void()>> timers_;
  std::unordered_map<uint64_t, uint64_t> timer_deadlines_;  // id -> deadline_us
  uint64_t next_timer_id_ = 1;

  // Busy polling state.
  uint64_t last_work_us_ = 0;
  uint64_t backoff_until_us_ = 0;
  uint64_t last_check_us_ = 0;
  long involuntary_switches_ = 0;
};

}  // namespace strata::cache
