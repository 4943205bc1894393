#include "cache/server/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace strata::cache {
namespace {

long InvoluntarySwitches() {
  rusage u{};
  if (getrusage(RUSAGE_THREAD, &u) != 0) return 0;
  return u.ru_nivcsw;
}

Status Errno(const std::string& what) { return Status::FromErrno(errno, what); }

}  // namespace

EventLoop::EventLoop(const Clock* clock, uint64_t poll_us) : clock_(clock), poll_us_(poll_us) {}

EventLoop::~EventLoop() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

Status EventLoop::Open() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return Errno("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Errno("eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the wake-up descriptor
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) != 0) return Errno("epoll_ctl add eventfd");
  return Status::Ok();
}

Status EventLoop::Add(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Errno("epoll_ctl add");
  return Status::Ok();
}

Status EventLoop::Modify(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) != 0) return Errno("epoll_ctl mod");
  return Status::Ok();
}

void EventLoop::Remove(int fd) { (void)::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  Wake();
}

void EventLoop::Wake() {
  if (wake_pending_.exchange(true)) return;  // one unconsumed write is enough
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void EventLoop::Defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }

uint64_t EventLoop::RunAfter(uint64_t delay_us, std::function<void()> fn) {
  uint64_t id = next_timer_id_++;
  uint64_t deadline = clock_->NowMicros() + delay_us;
  timers_.emplace(TimerKey{deadline, id}, std::move(fn));
  timer_deadlines_.emplace(id, deadline);
  return id;
}

void EventLoop::Cancel(uint64_t timer_id) {
  auto it = timer_deadlines_.find(timer_id);
  if (it == timer_deadlines_.end()) return;
  timers_.erase(TimerKey{it->second, timer_id});
  timer_deadlines_.erase(it);
}

void EventLoop::Stop() {
  stopped_.store(true);
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

int EventLoop::WaitTimeoutMs(uint64_t now) {
  if (!deferred_.empty()) return 0;
  if (poll_us_ > 0) {
    if (now - last_check_us_ >= kCheckMicros) {
      long s = InvoluntarySwitches();
      if (s - involuntary_switches_ >= kPreemptionsMax) backoff_until_us_ = now + kBackoffMicros;
      involuntary_switches_ = s;
      last_check_us_ = now;
    }
    if (now >= backoff_until_us_ && now - last_work_us_ < poll_us_) return 0;
  }
  if (timers_.empty()) return -1;
  uint64_t deadline = timers_.begin()->first.deadline_us;
  if (deadline <= now) return 0;
  uint64_t ms = (deadline - now + 999) / 1000;  // never wake before the deadline
  return static_cast<int>(std::min<uint64_t>(ms, 60'000));
}

void EventLoop::Run() {
  epoll_event events[kEventsMax];
  uint64_t now = clock_->NowMicros();
  last_work_us_ = last_check_us_ = now;
  involuntary_switches_ = InvoluntarySwitches();
  while (!stopped_.load(std::memory_order_relaxed)) {
    int n = ::epoll_wait(epoll_fd_, events, kEventsMax, WaitTimeoutMs(now));
    if (n < 0 && errno != EINTR) break;  // only on a broken epoll descriptor
    bool woken = false;
    for (int i = 0; i < n; i++) {
      auto* handler = static_cast<Handler*>(events[i].data.ptr);
      if (handler) {
        handler->OnEvents(events[i].events);
      } else {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof count);
        woken = true;
      }
    }
    if (woken) {
      wake_pending_.store(false);
      RunPosted();
    }
    now = clock_->NowMicros();
    if (!timers_.empty()) RunDueTimers(now);
    RunDeferred();
    if (n > 0) last_work_us_ = now;
  }
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void EventLoop::RunDueTimers(uint64_t now) {
  while (!timers_.empty() && timers_.begin()->first.deadline_us <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_deadlines_.erase(node.key().id);
    node.mapped()();
  }
}

void EventLoop::RunDeferred() {
  while (!deferred_.empty()) {
    std::vector<std::function<void()>> batch;
    batch.swap(deferred_);
    for (auto& fn : batch) fn();
  }
}

}  // namespace strata::cache
