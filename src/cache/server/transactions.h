// What makes MULTI/EXEC atomic and WATCH work across all connections of one
// cache server:
//  * TxnLock: a server-wide reader/writer lock. Every protocol handler holds
//    it shared while it runs a batch of commands; EXEC holds it exclusive
//    while it runs its queue, so no other client's command — on any worker
//    thread, on any engine shard — interleaves with a transaction. The
//    single-command path pays one uncontended read lock per input batch, not
//    per command, and no shard-ordering rule changes (EXEC's commands take
//    their shard locks as usual, with nobody else holding any). Writers are
//    preferred, so a steady stream of readers cannot starve EXEC.
//  * WatchRegistry: a version per watched internal key (Redis keeps a list
//    of watching clients per key, multi.c touchWatchedKey; a version is the
//    same information without pointers between connections). A write bumps
//    the version of each key it touches; EXEC compares the versions its
//    connection saw at WATCH time. Only watched keys have an entry, and a
//    write costs one atomic load when nothing is watched.
//
// Thread-safety: both are thread-safe. REQUIRES: a thread never takes
// TxnLock shared twice (a waiting writer would deadlock it).
// Ownership: owned by CacheCore.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace strata::cache {

class TxnLock {
 public:
  TxnLock();
  ~TxnLock();
  TxnLock(const TxnLock&) = delete;
  TxnLock& operator=(const TxnLock&) = delete;
  void LockShared() { pthread_rwlock_rdlock(&rw_); }
  void UnlockShared() { pthread_rwlock_unlock(&rw_); }
  void Lock() { pthread_rwlock_wrlock(&rw_); }
  void Unlock() { pthread_rwlock_unlock(&rw_); }
  // Bounded waits, so a worker can answer BUSY while a long script holds
  // the lock exclusive (script_engine.h) instead of stalling its loop.
  bool LockSharedFor(int64_t timeout_ms);
  bool LockFor(int64_t timeout_ms);

 private:
  pthread_rwlock_t rw_;
};

// Holds TxnLock shared from the first Acquire() until destruction; a handler
// takes it lazily so that an empty batch costs nothing.
class SharedTxnGuard {
 public:
  explicit SharedTxnGuard(TxnLock* lock) : lock_(lock) {}
  ~SharedTxnGuard() { Release(); }
  SharedTxnGuard(const SharedTxnGuard&) = delete;
  SharedTxnGuard& operator=(const SharedTxnGuard&) = delete;
  void Acquire() {
    if (!held_) lock_->LockShared();
    held_ = true;
  }
  // As Acquire, giving up after `timeout_ms`; true when held.
  bool TryAcquireFor(int64_t timeout_ms) {
    if (!held_) held_ = lock_->LockSharedFor(timeout_ms);
    return held_;
  }
  void Release() {
    if (held_) lock_->UnlockShared();
    held_ = false;
  }
  bool held() const { return held_; }

 private:
  TxnLock* lock_;
  bool held_ = false;
};

class WatchRegistry {
 public:
  // Starts watching `key` (an internal key); returns its current version.
  uint64_t Watch(const std::string& key);
  // Ends one Watch() of `key`.
  void Unwatch(const std::string& key);
  uint64_t Version(const std::string& key);
  // A write to `key`: invalidates every WATCH on it.
  void Touch(std::string_view key) {
    if (watched_.load(std::memory_order_acquire) == 0) return;
    TouchSlow(key);
  }
  // FLUSHDB / FLUSHALL: every watched key of namespace `ns` (all when ns < 0).
  void TouchNamespace(int ns);
  size_t watched() const { return watched_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    uint64_t version = 0;
    uint64_t watchers = 0;
  };
  void TouchSlow(std::string_view key);
  std::atomic<size_t> watched_{0};                  // keys with an entry
  std::mutex mu_;
  uint64_t next_version_ = 1;                       // GUARDED_BY(mu_)
  std::unordered_map<std::string, Entry> entries_;  // GUARDED_BY(mu_)
};

}  // namespace strata::cache
