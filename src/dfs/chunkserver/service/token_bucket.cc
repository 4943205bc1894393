#include "dfs/chunkserver/service/token_bucket.h"

#include <algorithm>

namespace strata::dfs {

TokenBucket::TokenBucket(std::shared_ptr<Clock> clock, uint64_t bytes_per_sec)
    : clock_(std::move(clock)), bytes_per_sec_(bytes_per_sec) {}

bool TokenBucket::Acquire(uint64_t bytes, const std::atomic<bool>* cancel) {
  if (bytes_per_sec_ == 0 || bytes == 0) return true;
  uint64_t start_us;
  {
    std::lock_guard lock(mu_);
    uint64_t now = clock_->NowMicros();
    // At most one second of unused budget is kept.
    uint64_t floor = now > 1'000'000 ? now - 1'000'000 : 0;
    next_free_us_ = std::max(next_free_us_, floor);
    uint64_t cost_us = static_cast<uint64_t>(static_cast<double>(bytes) * 1e6 / static_cast<double>(bytes_per_sec_));
    start_us = next_free_us_ + cost_us;
    next_free_us_ = start_us;
  }
  // The reservation is paid once the clock reaches its end.
  for (;;) {
    uint64_t now = clock_->NowMicros();
    if (now >= start_us) return true;
    if (cancel && cancel->load()) return false;
    clock_->SleepMicros(std::min(start_us - now, kSleepSliceMicros));
  }
}

}  // namespace strata::dfs
