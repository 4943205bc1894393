// The robust outlier test (outlier.h) and the health hysteresis and bound
// shared by the fail-slow detectors (soft_fault_state.h).
#include "dfs/master/outlier.h"

#include <gtest/gtest.h>

#include "dfs/master/soft_fault_state.h"

namespace strata::dfs::master {
namespace {

TEST(OutlierTest, Medians) {
  EXPECT_EQ(UpperMedian({}), 0u);
  EXPECT_EQ(UpperMedian({5, 1, 3}), 3u);
  EXPECT_EQ(UpperMedian({4, 1}), 4u);
  EXPECT_EQ(LowerMedian({4, 1}), 1u);   // a slow half does not make the whole slow
  EXPECT_EQ(LowerMedian({9, 9, 1}), 9u);  // a slow majority does
}

TEST(OutlierTest, BaselineNeedsEnoughSamplesAndFloorsTheMad) {
  EXPECT_FALSE(MakeBaseline({1000, 1000, 1000}, 4).has_value());
  EXPECT_FALSE(MakeBaseline({}, 0).has_value());
  auto b = MakeBaseline({1000, 1000, 1000, 1000, 90000}, 4);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->median_us, 1000u);
  EXPECT_EQ(b->mad_us, 500u);  // the raw MAD is 0
  EXPECT_EQ(b->samples, 5u);
  EXPECT_TRUE(IsOutlier(90000, *b, 50000, 6.0));
  EXPECT_FALSE(IsOutlier(40000, *b, 50000, 6.0));  // under the absolute floor
  EXPECT_FALSE(IsOutlier(4000, *b, 0, 6.0));       // within median + 6 x MAD
}

TEST(OutlierTest, AUniformlySlowGroupHasNoOutlier) {
  std::vector<uint64_t> busy = {262144, 131072, 262144, 131072, 262144, 262144};
  auto b = MakeBaseline(busy, 5);
  ASSERT_TRUE(b.has_value());
  for (uint64_t x : busy) EXPECT_FALSE(IsOutlier(x, *b, 50000, 6.0)) << x;
}

TEST(SoftFaultStateTest, StreaksMoveTheHealthBothWays) {
  SoftFaultBudget budget{.disks_out = 0, .cap = 1};
  HealthState st;
  EXPECT_EQ(st.Judge(true, 3, 1, &budget), HealthChange::kNone);
  EXPECT_TRUE(st.SlowNow());
  EXPECT_EQ(st.Judge(false, 3, 1, &budget), HealthChange::kNone);  // the streak starts over
  EXPECT_FALSE(st.SlowNow());
  EXPECT_EQ(st.Judge(true, 3, 1, &budget), HealthChange::kNone);
  EXPECT_EQ(st.Judge(true, 3, 1, &budget), HealthChange::kNone);
  EXPECT_EQ(st.Judge(true, 3, 1, &budget), HealthChange::kDegraded);
  EXPECT_EQ(st.health, Health::kReadOnly);
  EXPECT_EQ(budget.disks_out, 1u);
  EXPECT_EQ(st.Judge(false, 3, 1, &budget), HealthChange::kNone);
  EXPECT_TRUE(st.SlowNow());  // still out of service
  EXPECT_EQ(st.Judge(false, 3, 1, &budget), HealthChange::kNone);
  EXPECT_EQ(st.Judge(false, 3, 1, &budget), HealthChange::kRestored);
  EXPECT_EQ(st.health, Health::kNormal);
  EXPECT_EQ(budget.disks_out, 0u);
}

TEST(SoftFaultStateTest, TheBoundHoldsBackAndAlertsOnce) {
  SoftFaultBudget budget{.disks_out = 1, .cap = 1};
  HealthState st;
  EXPECT_EQ(st.Judge(true, 1, 1, &budget), HealthChange::kHeld);
  EXPECT_TRUE(st.held);
  EXPECT_EQ(st.Judge(true, 1, 1, &budget), HealthChange::kNone);  // still held: no new alert
  budget.disks_out = 0;                                            // room again
  EXPECT_EQ(st.Judge(true, 1, 1, &budget), HealthChange::kDegraded);
  EXPECT_FALSE(st.held);
  // With nothing out, one subject may go whatever its size; then the cap rules.
  SoftFaultBudget empty{.disks_out = 0, .cap = 1};
  EXPECT_TRUE(empty.Allows(12));
  SoftFaultBudget some{.disks_out = 2, .cap = 3};
  EXPECT_TRUE(some.Allows(1));
  EXPECT_FALSE(some.Allows(2));
  // A verdict that is not slow ends the alert.
  HealthState held;
  SoftFaultBudget full{.disks_out = 1, .cap = 1};
  EXPECT_EQ(held.Judge(true, 1, 2, &full), HealthChange::kHeld);
  EXPECT_EQ(held.Judge(false, 1, 2, &full), HealthChange::kNone);
  EXPECT_FALSE(held.held);
}

TEST(SoftFaultStateTest, Worse) {
  EXPECT_EQ(Worse(Health::kNormal, Health::kReadOnly), Health::kReadOnly);
  EXPECT_EQ(Worse(Health::kOffline, Health::kReadOnly), Health::kOffline);
  EXPECT_STREQ(HealthName(Health::kReadOnly), "read_only");
}

}  // namespace
}  // namespace strata::dfs::master
