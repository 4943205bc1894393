#include "cache/server/transactions.h"

#include <ctime>

namespace strata::cache {

TxnLock::TxnLock() {
  pthread_rwlockattr_t attr;
  pthread_rwlockattr_init(&attr);
  pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
  pthread_rwlock_init(&rw_, &attr);
  pthread_rwlockattr_destroy(&attr);
}

TxnLock::~TxnLock() { pthread_rwlock_destroy(&rw_); }

namespace {

// A lock deadline on the monotonic clock. This bounds a wait on a kernel
// primitive; it does not decide anything a test would need to control.
timespec DeadlineIn(int64_t timeout_ms) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (timeout_ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  return ts;
}

}  // namespace

bool TxnLock::LockSharedFor(int64_t timeout_ms) {
  timespec ts = DeadlineIn(timeout_ms);
  return pthread_rwlock_clockrdlock(&rw_, CLOCK_MONOTONIC, &ts) == 0;
}

bool TxnLock::LockFor(int64_t timeout_ms) {
  timespec ts = DeadlineIn(timeout_ms);
  return pthread_rwlock_clockwrlock(&rw_, CLOCK_MONOTONIC, &ts) == 0;
}

// Versions come from one counter, so a key unwatched by everyone and watched
// again never sees an old version come back.
uint64_t WatchRegistry::Watch(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted) {
    it->second.version = next_version_++;
    watched_.store(entries_.size(), std::memory_order_release);
  }
  it->second.watchers++;
  return it->second.version;
}

void WatchRegistry::Unwatch(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  if (--it->second.watchers == 0) {
    entries_.erase(it);
    watched_.store(entries_.size(), std::memory_order_release);
  }
}

uint64_t WatchRegistry::Version(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(key);
  return it == entries_.end() ? 0 : it->second.version;
}

void WatchRegistry::TouchSlow(std::string_view key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(std::string(key));
  if (it != entries_.end()) it->second.version = next_version_++;
}

void WatchRegistry::TouchNamespace(int ns) {
  if (watched() == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [key, e] : entries_) {
    if (ns < 0 || (!key.empty() && static_cast<uint8_t>(key[0]) == ns)) e.version = next_version_++;
  }
}

}  // namespace strata::cache
