// The adaptive recovery rule (recovery_throttle.h) with a ManualClock.
#include "dfs/master/recovery_throttle.h"

#include <gtest/gtest.h>

namespace strata::dfs::master {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kSecond = 1'000'000;

class RecoveryThrottleTest : public ::testing::Test {
 protected:
  RecoveryThrottleTest() {
    options_.recovery_bytes_per_sec_max = 100 * kMiB;
    options_.recovery_bytes_per_sec_min = 10 * kMiB;
    options_.recovery_copies_per_server_max = 4;
    options_.heartbeat_interval_ms = 1000;
  }
  // Feeds `p99_us` one second later.
  void Step(RecoveryThrottle& t, uint64_t p99_us, bool recovering) {
    clock_.Advance(kSecond);
    t.Update(p99_us, recovering);
  }
  ManualClock clock_;
  MasterOptions options_;
};

TEST_F(RecoveryThrottleTest, WithoutATargetRecoveryRunsAtFullSpeed) {
  RecoveryThrottle t(&clock_, options_);
  Step(t, 0, true);
  Step(t, 900000, true);  // nothing learned: no basis to call this slow
  EXPECT_EQ(t.target_us(), 0u);
  EXPECT_EQ(t.level(), 1.0);
  EXPECT_EQ(t.bytes_per_sec(), 100 * kMiB);
  EXPECT_EQ(t.copies_per_server(), 4u);
}

TEST_F(RecoveryThrottleTest, ScalesBetweenTheFloorAndTheMaxAndRampsBackUp) {
  RecoveryThrottle t(&clock_, options_);
  Step(t, 2000, false);  // learned while idle: target = 2 x 2000
  EXPECT_EQ(t.baseline_us(), 2000u);
  EXPECT_EQ(t.target_us(), 4000u);
  Step(t, 4000, true);  // at the target: full speed
  EXPECT_EQ(t.bytes_per_sec(), 100 * kMiB);
  Step(t, 6000, true);  // 1.5 x target: half way
  EXPECT_DOUBLE_EQ(t.level(), 0.5);
  EXPECT_EQ(t.bytes_per_sec(), 55 * kMiB);
  EXPECT_EQ(t.copies_per_server(), 2u);
  Step(t, 9000, true);  // beyond 2 x target: the floor
  EXPECT_EQ(t.level(), 0.0);
  EXPECT_EQ(t.bytes_per_sec(), 10 * kMiB);
  EXPECT_EQ(t.copies_per_server(), 1u);
  EXPECT_EQ(t.baseline_us(), 2000u);  // not learned while recovering
  // Back to normal: at most a quarter more per second.
  Step(t, 2000, true);
  EXPECT_DOUBLE_EQ(t.level(), 0.25);
  EXPECT_EQ(t.copies_per_server(), 1u);
  Step(t, 2000, true);
  EXPECT_DOUBLE_EQ(t.level(), 0.5);
  clock_.Advance(kSecond / 2);  // ticks more often than heartbeats: same slope
  t.Update(2000, true);
  EXPECT_DOUBLE_EQ(t.level(), 0.625);
  Step(t, 2000, true);
  Step(t, 2000, true);
  EXPECT_EQ(t.level(), 1.0);
  EXPECT_EQ(t.bytes_per_sec(), 100 * kMiB);
  EXPECT_EQ(t.copies_per_server(), 4u);
}

TEST_F(RecoveryThrottleTest, TheBaselineLearnsOnlyWhenRecoveryHasBeenQuiet) {
  RecoveryThrottle t(&clock_, options_);
  Step(t, 2000, false);
  Step(t, 3000, true);
  EXPECT_EQ(t.baseline_us(), 2000u);
  Step(t, 3000, false);  // one heartbeat after recovery: copies may still show
  EXPECT_EQ(t.baseline_us(), 2000u);
  Step(t, 3000, false);
  EXPECT_EQ(t.baseline_us(), 2125u);  // weight 1/8
  clock_.Advance(kSecond / 5);  // at most one sample per heartbeat interval
  t.Update(3000, false);
  EXPECT_EQ(t.baseline_us(), 2125u);
  Step(t, 0, false);  // no sample
  EXPECT_EQ(t.baseline_us(), 2125u);
}

TEST_F(RecoveryThrottleTest, AConfiguredTargetOverridesTheBaseline) {
  options_.recovery_foreground_p99_target_us = 5000;
  RecoveryThrottle t(&clock_, options_);
  Step(t, 7500, false);
  EXPECT_EQ(t.baseline_us(), 7500u);
  EXPECT_EQ(t.target_us(), 5000u);
  EXPECT_DOUBLE_EQ(t.level(), 0.5);
}

TEST_F(RecoveryThrottleTest, TheFloorNeverExceedsTheMax) {
  options_.recovery_bytes_per_sec_max = kMiB;
  RecoveryThrottle t(&clock_, options_);
  Step(t, 2000, false);
  Step(t, 90000, true);
  EXPECT_EQ(t.level(), 0.0);
  EXPECT_EQ(t.floor_bytes_per_sec(), kMiB);
  EXPECT_EQ(t.bytes_per_sec(), kMiB);
}

}  // namespace
}  // namespace strata::dfs::master
