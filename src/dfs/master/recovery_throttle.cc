#include "dfs/master/recovery_throttle.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "dfs/master/outlier.h"

namespace strata::dfs::master {
namespace {

constexpr double kBaselineWeight = 1.0 / 8;
constexpr double kLevelRisePerSec = 0.25;
constexpr uint64_t kQuietHeartbeatsBeforeLearning = 2;

}  // namespace

RecoveryThrottle::RecoveryThrottle(const Clock* clock, const MasterOptions& options)
    : clock_(clock), options_(options), updated_us_(clock->NowMicros()) {}

uint64_t RecoveryThrottle::ForegroundP99Us(const Membership& membership,
                                           const std::function<bool(const std::string&, uint32_t)>& in_service) {
  std::vector<uint64_t> p99s;
  for (const auto& [id, s] : membership.servers()) {
    if (s.liveness != Liveness::kAlive) continue;
    for (const auto& d : s.disks) {
      if (!d.failed() && d.ops() > 0 && in_service(id, d.index())) p99s.push_back(d.write_p99_us());
    }
  }
  return UpperMedian(std::move(p99s));
}

void RecoveryThrottle::Learn(uint64_t now_us, bool recovery_active) {
  const uint64_t heartbeat_us = options_.heartbeat_interval_ms * 1000;
  if (recovery_active) {
    active_us_ = now_us;
    return;
  }
  if (signal_us_ == 0) return;
  if (active_us_ && now_us - *active_us_ < kQuietHeartbeatsBeforeLearning * heartbeat_us) return;
  if (learned_us_ && now_us - *learned_us_ < heartbeat_us) return;
  learned_us_ = now_us;
  double x = static_cast<double>(signal_us_);
  baseline_us_ = baseline_us_ == 0 ? x : baseline_us_ + kBaselineWeight * (x - baseline_us_);
}

uint64_t RecoveryThrottle::target_us() const {
  if (options_.recovery_foreground_p99_target_us > 0) return options_.recovery_foreground_p99_target_us;
  return static_cast<uint64_t>(baseline_us_ * options_.recovery_foreground_p99_tolerance);
}

void RecoveryThrottle::Update(uint64_t foreground_p99_us, bool recovery_active) {
  uint64_t now = clock_->NowMicros();
  signal_us_ = foreground_p99_us;
  Learn(now, recovery_active);
  double desired = 1.0;
  uint64_t target = target_us();
  if (target > 0 && signal_us_ > 0) {
    double r = static_cast<double>(signal_us_) / static_cast<double>(target);
    desired = std::clamp(2.0 - r, 0.0, 1.0);
  }
  double elapsed_s = static_cast<double>(now - updated_us_) / 1e6;
  updated_us_ = now;
  level_ = desired <= level_ ? desired : std::min(desired, level_ + kLevelRisePerSec * elapsed_s);
}

uint64_t RecoveryThrottle::floor_bytes_per_sec() const {
  return std::min(options_.recovery_bytes_per_sec_min, options_.recovery_bytes_per_sec_max);
}

uint64_t RecoveryThrottle::bytes_per_sec() const {
  uint64_t floor = floor_bytes_per_sec();
  double span = static_cast<double>(options_.recovery_bytes_per_sec_max - floor);
  return std::max<uint64_t>(1, floor + static_cast<uint64_t>(level_ * span));
}

uint32_t RecoveryThrottle::copies_per_server() const {
  double copies = std::ceil(level_ * static_cast<double>(options_.recovery_copies_per_server_max));
  return std::max<uint32_t>(1, static_cast<uint32_t>(copies));
}

}  // namespace strata::dfs::master
