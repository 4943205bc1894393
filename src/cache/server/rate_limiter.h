// RateLimiter: a token bucket (ops per second, burst of one second) read
// through the injected Clock, so tests can move time instead of sleeping.
//
// Thread-safety: thread-safe (a small mutex; only namespaces that configure a
// limit ever take it).
#pragma once

#include <cstdint>
#include <mutex>

#include "env/clock.h"

namespace strata::cache {

class RateLimiter {
 public:
  RateLimiter(const Clock* clock, uint64_t ops_per_sec) : clock_(clock), rate_(ops_per_sec) {
    tokens_ = static_cast<double>(rate_);
    last_us_ = clock_->NowMicros();
  }
  uint64_t rate() const { return rate_; }
  // True if one op may proceed now; 0 means unlimited.
  bool TryAcquire() {
    if (rate_ == 0) return true;
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t now = clock_->NowMicros();
    tokens_ += static_cast<double>(now - last_us_) * static_cast<double>(rate_) / 1e6;
    if (tokens_ > static_cast<double>(rate_)) tokens_ = static_cast<double>(rate_);
    last_us_ = now;
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  const Clock* clock_;
  uint64_t rate_;
  std::mutex mu_;
  double tokens_;      // GUARDED_BY(mu_)
  uint64_t last_us_;   // GUARDED_BY(mu_)
};

}  // namespace strata::cache
