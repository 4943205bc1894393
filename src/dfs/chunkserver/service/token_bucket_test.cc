#include "dfs/chunkserver/service/token_bucket.h"

#include <gtest/gtest.h>

namespace strata::dfs {
namespace {

TEST(TokenBucket, SpacesReservationsAtTheRate) {
  auto clock = std::make_shared<ManualClock>(10'000'000);
  TokenBucket bucket(clock, 1'000'000);  // 1 MB/s
  uint64_t start = clock->NowMicros();
  // One second of budget is there at once...
  EXPECT_TRUE(bucket.Acquire(1'000'000, nullptr));
  EXPECT_EQ(clock->NowMicros(), start);
  // ...then each byte waits its turn.
  EXPECT_TRUE(bucket.Acquire(500'000, nullptr));
  EXPECT_EQ(clock->NowMicros() - start, 500'000u);
  EXPECT_TRUE(bucket.Acquire(250'000, nullptr));
  EXPECT_EQ(clock->NowMicros() - start, 750'000u);
  // Idle time refills at most one second's worth.
  clock->Advance(10'000'000);
  start = clock->NowMicros();
  EXPECT_TRUE(bucket.Acquire(1'000'000, nullptr));
  EXPECT_TRUE(bucket.Acquire(1'000'000, nullptr));
  EXPECT_EQ(clock->NowMicros() - start, 1'000'000u);
}

TEST(TokenBucket, ZeroRateIsUnlimitedAndCancelStopsWaiting) {
  auto clock = std::make_shared<ManualClock>();
  TokenBucket unlimited(clock, 0);
  uint64_t start = clock->NowMicros();
  EXPECT_TRUE(unlimited.Acquire(1ull << 40, nullptr));
  EXPECT_EQ(clock->NowMicros(), start);
  TokenBucket slow(clock, 1);
  std::atomic<bool> cancel{true};
  EXPECT_FALSE(slow.Acquire(1'000'000, &cancel));
}

}  // namespace
}  // namespace strata::dfs
