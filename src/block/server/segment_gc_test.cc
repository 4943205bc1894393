// Garbage collection of a segment's data files: many small live extents,
// compressed and plain, are copied with few reads and few appends.
#include <gtest/gtest.h>

#include <random>

#include "block/server/memory_log_file_store.h"
#include "block/server/segment.h"

namespace strata::block {
namespace {

constexpr uint32_t kBs = 4096;

// Compressible when `compressible`: a block of one repeated random byte run.
std::string Block(uint64_t block, uint32_t version, bool compressible) {
  std::string s(kBs, '\0');
  std::mt19937 rng(static_cast<uint32_t>(block * 2654435761u + version));
  if (compressible) {
    std::fill(s.begin(), s.end(), static_cast<char>('a' + rng() % 26));
    s[rng() % kBs] = static_cast<char>(rng());
  } else {
    for (auto& c : s) c = static_cast<char>(rng());
  }
  return s;
}

class SegmentGcTest : public ::testing::TestWithParam<bool> {};

TEST_P(SegmentGcTest, ScatteredLiveBlocksAreCopiedInFewAppendsAndReadBackTheSame) {
  const bool compress = GetParam();
  MemoryLogFileStore store;
  SegmentOptions o;
  o.size_bytes = 8 << 20;
  o.data_file_bytes_max = 1 << 20;
  o.checkpoint_bytes_min = 1 << 20;
  o.append_bytes_max = 256 << 10;
  o.compress = compress;
  o.gc_live_fraction_max = 0.6;
  auto opened = Segment::Open(&store, "/block/v1/s0", o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& seg = *opened;
  // Pass 0 writes 1024 single-block records in order; pass 1 overwrites
  // every block but one in three, so pass 0's files are a third live, and
  // that third is scattered: one extent per block.
  constexpr uint64_t kBlocks = 1024;
  std::vector<std::string> want(kBlocks);
  for (uint32_t pass = 0; pass < 2; ++pass) {
    for (uint64_t b = 0; b < kBlocks; ++b) {
      if (pass == 1 && b % 3 == 0) continue;
      want[b] = Block(b, pass, (b % 2) == 0);
      ASSERT_TRUE(seg->Write(b * kBs, want[b]).ok());
    }
  }
  const SegmentStats before = seg->stats();
  int collected = 0;
  for (int i = 0; i < 50; ++i) {
    auto did = seg->CollectGarbage();
    ASSERT_TRUE(did.ok()) << did.status().ToString();
    if (!*did) break;
    collected++;
  }
  const SegmentStats after = seg->stats();
  ASSERT_GE(collected, 2);
  EXPECT_EQ(after.gc_files_collected - before.gc_files_collected, static_cast<uint64_t>(collected));
  // Each collected file's live blocks (a third of 1 MiB at most) fit in a
  // couple of appends, plus the checkpoint's roll; one append per block
  // would be ~80 per file.
  const uint64_t appends = after.appends - before.appends;
  EXPECT_LE(appends, static_cast<uint64_t>(collected) * 4) << collected << " files collected";
  EXPECT_LT(after.stored_bytes, before.stored_bytes);
  auto all = seg->Read(0, kBlocks * kBs);
  ASSERT_TRUE(all.ok());
  for (uint64_t b = 0; b < kBlocks; ++b) ASSERT_EQ(all->compare(b * kBs, kBs, want[b]), 0) << "block " << b;
  seg->Close();
  auto again = Segment::Open(&store, "/block/v1/s0", o);
  ASSERT_TRUE(again.ok());
  auto reread = (*again)->Read(0, kBlocks * kBs);
  ASSERT_TRUE(reread.ok());
  EXPECT_EQ(*reread, *all);
}

// While clients write, a file a third live waits (its blocks may still be
// overwritten, and then need no copy) unless the segment's closed files
// hold more than gc_busy_space_amp_max times their live data; an idle
// segment collects it.
TEST(SegmentGcPolicyTest, BusySegmentWaitsForEmptierFilesUnlessSpaceRunsAway) {
  for (double space_amp_max : {2.0, 1.5}) {
    SCOPED_TRACE(space_amp_max);
    MemoryLogFileStore store;
    SegmentOptions o;
    o.size_bytes = 8 << 20;
    o.data_file_bytes_max = 1 << 20;
    o.checkpoint_bytes_min = 1 << 20;
    o.compress = false;
    o.gc_live_fraction_max = 0.5;
    o.gc_busy_live_fraction_max = 0.2;
    o.gc_busy_space_amp_max = space_amp_max;
    auto opened = Segment::Open(&store, "/block/v1/s0", o);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    auto& seg = *opened;
    // Pass 0 fills 4 files; pass 1 overwrites two blocks in three, so pass
    // 0's files are a third live and the closed files hold about 1.7 times
    // their live data.
    constexpr uint64_t kBlocks = 1024;
    for (uint32_t pass = 0; pass < 2; ++pass) {
      for (uint64_t b = 0; b < kBlocks; ++b) {
        if (pass == 1 && b % 3 == 0) continue;
        ASSERT_TRUE(seg->Write(b * kBs, Block(b, pass, false)).ok());
      }
    }
    auto busy = seg->CollectGarbage(/*busy=*/true);
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    EXPECT_EQ(*busy, space_amp_max < 1.7) << "busy, closed files at ~1.7x their live data";
    auto idle = seg->CollectGarbage(/*busy=*/false);
    ASSERT_TRUE(idle.ok()) << idle.status().ToString();
    EXPECT_TRUE(*idle) << "an idle segment collects files below gc_live_fraction_max";
    for (uint64_t b = 0; b < kBlocks; b += 97) {
      auto got = seg->Read(b * kBs, kBs);
      ASSERT_TRUE(got.ok());
      EXPECT_EQ(*got, Block(b, b % 3 == 0 ? 0 : 1, false)) << "block " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PlainAndCompressed, SegmentGcTest, ::testing::Bool());

}  // namespace
}  // namespace strata::block
