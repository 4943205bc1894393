// Loading and validation of the blockmanager's options.
#include "block/manager/blockmanager_options.h"

#include <gtest/gtest.h>

namespace strata::block::manager {
namespace {

Status LoadYaml(const std::string& yaml, BlockManagerOptions* options) {
  ConfigNode node(YAML::Load(yaml), "test");
  return options->Load(node);
}

TEST(BlockManagerOptionsTest, DefaultsAreValid) {
  BlockManagerOptions o;
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.block_size, 4096u);
  EXPECT_EQ(o.segment_size_bytes, 32ull << 30);
  EXPECT_EQ(o.segments_per_group, 4u);
  EXPECT_EQ(o.stripe_unit_bytes, 128u << 10);
  EXPECT_EQ(o.volume_size_max_bytes, 64ull << 40);
  EXPECT_EQ(o.partitions, 16u);
  EXPECT_EQ(o.heartbeat_interval_ms, 500u);
  EXPECT_EQ(o.lease_ms, 3000u);
  EXPECT_EQ(o.dead_after_ms, 5000u);
  EXPECT_EQ(o.failure_domain_tokens, 3u);
  EXPECT_EQ(o.failure_domain_refill_ms, 30u * 60 * 1000);
}

TEST(BlockManagerOptionsTest, KeysLoadWithUnits) {
  BlockManagerOptions o;
  Status st = LoadYaml("segment_size: 16M\n"
                       "stripe_unit: 64K\n"
                       "segments_per_group: 2\n"
                       "volume_size_max: 1T\n"
                       "partitions: 4\n"
                       "heartbeat_interval_ms: 100\n"
                       "lease_ms: 600\n"
                       "dead_after_ms: 1000\n"
                       "failure_domain_refill_ms: 60000\n",
                       &o);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(o.segment_size_bytes, 16u << 20);
  EXPECT_EQ(o.stripe_unit_bytes, 64u << 10);
  EXPECT_EQ(o.segments_per_group, 2u);
  EXPECT_EQ(o.volume_size_max_bytes, 1ull << 40);
  EXPECT_EQ(o.partitions, 4u);
  EXPECT_EQ(o.lease_ms, 600u);
  EXPECT_EQ(o.failure_domain_refill_ms, 60000u);
}

TEST(BlockManagerOptionsTest, BadValuesAndUnknownKeysAreRejected) {
  for (const char* yaml : {
           "segment_size: 100K",            // not a multiple of the 128K stripe unit
           "stripe_unit: 6000",             // not a multiple of the block size
           "block_size: 3000",              // not a power of two
           "segments_per_group: 0",
           "dead_after_ms: 3500",           // not above lease + heartbeat interval
           "lease_ms: 400",                 // not above the heartbeat interval
           "failure_domain_tokens: 0",
           "partitions: 0",
           "segment_sise: 16M",             // a typo
       }) {
    BlockManagerOptions o;
    EXPECT_EQ(LoadYaml(yaml, &o).code(), StatusCode::kInvalidArgument) << yaml;
  }
}

}  // namespace
}  // namespace strata::block::manager
