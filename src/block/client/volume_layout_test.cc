#include "block/client/volume_layout.h"

#include <gtest/gtest.h>

#include <set>

namespace strata::block {
namespace {

VolumeGeometry Geometry(uint64_t segment, uint32_t n, uint64_t stripe) {
  VolumeGeometry g;
  g.set_block_size(4096);
  g.set_segment_size_bytes(segment);
  g.set_segments_per_group(n);
  g.set_stripe_unit_bytes(stripe);
  return g;
}

TEST(VolumeLayoutTest, StripeUnitsAreDealtRoundRobinInsideAGroup) {
  VolumeLayout layout(Geometry(1 << 20, 4, 128 << 10));
  auto pieces = layout.Map(0, 1 << 20);
  ASSERT_EQ(pieces.size(), 8u);
  for (size_t i = 0; i < pieces.size(); ++i) {
    EXPECT_EQ(pieces[i].segment, i % 4);
    EXPECT_EQ(pieces[i].segment_offset, (i / 4) * (128 << 10));
    EXPECT_EQ(pieces[i].length, 128u << 10);
  }
  // The second group starts at 4 MiB with segment 4.
  SegmentPiece p = layout.Locate((4 << 20) + (128 << 10) + 4096);
  EXPECT_EQ(p.segment, 5u);
  EXPECT_EQ(p.segment_offset, 4096u);
  EXPECT_EQ(p.length, (128u << 10) - 4096);
}

TEST(VolumeLayoutTest, EveryByteOfAGroupHasExactlyOnePlace) {
  VolumeLayout layout(Geometry(256 << 10, 3, 16 << 10));
  std::set<std::pair<uint32_t, uint64_t>> seen;
  for (uint64_t off = 0; off < 3 * (256 << 10); off += 4096) {
    SegmentPiece p = layout.Locate(off);
    ASSERT_LT(p.segment, 3u);
    ASSERT_LT(p.segment_offset, 256u << 10);
    ASSERT_TRUE(seen.insert({p.segment, p.segment_offset}).second) << off;
  }
  // A request crossing units is cut at each boundary, lengths summing up.
  auto pieces = layout.Map(12 << 10, 40 << 10);
  uint64_t sum = 0;
  for (const auto& p : pieces) sum += p.length;
  EXPECT_EQ(sum, 40u << 10);
  EXPECT_EQ(pieces.size(), 4u);  // 4K, 16K, 16K, 4K
}

}  // namespace
}  // namespace strata::block
