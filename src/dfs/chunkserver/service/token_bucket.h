// TokenBucket: a byte-rate limit for background copies.
//
// Acquire(n) reserves n bytes of the budget and blocks the caller (through
// the injected Clock) until the reservation's turn, so several copies sharing
// one bucket together stay under `bytes_per_sec`. Unused budget does not pile
// up beyond one second's worth (the burst), so an idle period does not turn
// into a storm afterwards.
//
// Thread-safety: thread-safe. Ownership: shares the Clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "env/clock.h"

namespace strata::dfs {

class TokenBucket {
 public:
  // `bytes_per_sec` 0 means unlimited.
  TokenBucket(std::shared_ptr<Clock> clock, uint64_t bytes_per_sec);

  // Waits until `bytes` may be spent; returns early (false) when `*cancel`
  // becomes true while waiting. `cancel` may be null.
  bool Acquire(uint64_t bytes, const std::atomic<bool>* cancel);

  uint64_t bytes_per_sec() const { return bytes_per_sec_; }

 private:
  static constexpr uint64_t kSleepSliceMicros = 20'000;
  std::shared_ptr<Clock> clock_;
  const uint64_t bytes_per_sec_;
  std::mutex mu_;
  uint64_t next_free_us_ = 0;  // GUARDED_BY(mu_); when the budget is next free
};

}  // namespace strata::dfs
