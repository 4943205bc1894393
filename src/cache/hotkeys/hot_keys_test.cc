#include "cache/hotkeys/hot_keys.h"

#include <gtest/gtest.h>

#include "cache/server/cache_core.h"

namespace strata::cache {
namespace {

TEST(HotKeys, HotKeyRisesAboveBackgroundTraffic) {
  ManualClock clock;
  HotKeys hk(&clock, HotKeysOptions{.sample_every = 1, .levels = 3, .capacity_per_level = 32});
  for (int round = 0; round < 100; round++) {
    hk.RecordSample("hot", round % 2 == 0);
    for (int i = 0; i < 20; i++) hk.RecordSample("cold" + std::to_string(round * 20 + i), false);
  }
  clock.Advance(10'000'000);
  auto top = hk.Top(3);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].key, "hot");
  EXPECT_EQ(top[0].level, 2);
  EXPECT_NEAR(top[0].reads_per_sec, 5.0, 0.01);
  EXPECT_NEAR(top[0].writes_per_sec, 5.0, 0.01);
}

TEST(Glob, RedisPatterns) {
  EXPECT_TRUE(GlobMatch("*", "anything"));
  EXPECT_TRUE(GlobMatch("k?y", "key"));
  EXPECT_TRUE(GlobMatch("k[a-f]y", "key"));
  EXPECT_FALSE(GlobMatch("k[^e]y", "key"));
  EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(GlobMatch("a*b*c", "aXXbYY"));
  EXPECT_TRUE(GlobMatch("a\\*", "a*"));
}

}  // namespace
}  // namespace strata::cache
