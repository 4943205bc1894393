// Volume names, geometry rules and the segment arithmetic.
#include "block/manager/volume_geometry.h"

#include <set>

#include <gtest/gtest.h>

namespace strata::block::manager {
namespace {

GeometryRecord Geometry(uint64_t segment_size, uint32_t per_group, uint64_t stripe = 128 << 10,
                        uint32_t block = 4096) {
  GeometryRecord g;
  g.set_block_size(block);
  g.set_segment_size_bytes(segment_size);
  g.set_segments_per_group(per_group);
  g.set_stripe_unit_bytes(stripe);
  return g;
}

TEST(VolumeGeometryTest, Names) {
  for (const char* ok : {"a", "vm-01", "db_data.2", "A.b-C_d", "0"}) EXPECT_TRUE(ValidateVolumeName(ok).ok()) << ok;
  EXPECT_TRUE(ValidateVolumeName(std::string(64, 'x')).ok());
  for (std::string bad : {std::string(), std::string(65, 'x'), std::string(".hidden"), std::string("-flag"),
                          std::string("a/b"), std::string("a b"), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(ValidateVolumeName(bad).code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(VolumeGeometryTest, GeometryRules) {
  EXPECT_TRUE(ValidateGeometry(Geometry(32ull << 30, 4)).ok());
  EXPECT_TRUE(ValidateGeometry(Geometry(16 << 20, 4)).ok());
  EXPECT_FALSE(ValidateGeometry(Geometry((16 << 20) + 4096, 4)).ok());  // not whole stripe units
  EXPECT_FALSE(ValidateGeometry(Geometry(16 << 20, 4, 6000)).ok());     // stripe not whole blocks
  EXPECT_FALSE(ValidateGeometry(Geometry(16 << 20, 0)).ok());
  EXPECT_FALSE(ValidateGeometry(Geometry(16 << 20, 4, 128 << 10, 1000)).ok());
  EXPECT_FALSE(ValidateGeometry(Geometry(2ull << 40, 4)).ok());  // over 1 TiB
  GeometryRecord requested;
  requested.set_segment_size_bytes(1 << 20);
  GeometryRecord g = ResolveGeometry(requested, Geometry(32ull << 30, 4));
  EXPECT_EQ(g.segment_size_bytes(), 1u << 20);
  EXPECT_EQ(g.segments_per_group(), 4u);
  EXPECT_EQ(g.block_size(), 4096u);
}

TEST(VolumeGeometryTest, SegmentsComeInWholeGroups) {
  GeometryRecord g = Geometry(16 << 20, 4);  // 64 MiB groups
  EXPECT_EQ(SegmentCountFor(1, g), 4u);
  EXPECT_EQ(SegmentCountFor(64 << 20, g), 4u);
  EXPECT_EQ(SegmentCountFor((64 << 20) + 1, g), 8u);
  EXPECT_EQ(SegmentCountFor(20ull << 30, Geometry(32ull << 30, 4)), 4u);
  EXPECT_EQ(RoundUpToBlock(1, 4096), 4096u);
  EXPECT_EQ(RoundUpToBlock(8192, 4096), 8192u);
  EXPECT_EQ(RoundUpToBlock(8193, 4096), 12288u);
}

TEST(VolumeGeometryTest, PartitionsAreStableAndSpread) {
  EXPECT_EQ(VolumePartition(1, 16), VolumePartition(1, 16));
  std::set<uint32_t> seen;
  for (uint64_t id = 1; id <= 200; ++id) {
    uint32_t p = VolumePartition(id, 16);
    EXPECT_LT(p, 16u);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 16u);
  EXPECT_EQ(VolumePartition(7, 1), 0u);
}

TEST(VolumeGeometryTest, SizesAndPaths) {
  EXPECT_EQ(FormatSize(20ull << 30), "20 GiB");
  EXPECT_EQ(FormatSize(1536ull << 20), "1536 MiB");
  EXPECT_EQ(FormatSize(4096), "4 KiB");
  EXPECT_EQ(FormatSize(1000), "1000 bytes");
  EXPECT_EQ(VolumeDataDir(42), "/block/v42");
}

}  // namespace
}  // namespace strata::block::manager
