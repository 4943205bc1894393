#include "block/server/segment_index.h"

#include <gtest/gtest.h>

#include <random>

namespace strata::block {
namespace {

constexpr uint32_t kBs = 4096;

// A plain model: per block, (file, offset of its data) or unwritten.
struct Model {
  std::vector<std::pair<uint32_t, uint64_t>> at;
  explicit Model(size_t blocks) : at(blocks, {0, 0}) {}
};

TEST(SegmentIndexTest, OverwritesSplitExtents) {
  SegmentIndex index(kBs);
  index.Set(0, IndexExtent{.count = 256, .file = 1, .data_offset = 40});
  index.Set(10, IndexExtent{.count = 1, .file = 2, .data_offset = 80});
  EXPECT_EQ(index.extent_count(), 3u);
  EXPECT_EQ(index.live_blocks(), 256u);
  EXPECT_EQ(index.live_blocks_in(1), 255u);
  auto pieces = index.Lookup(9, 3);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].extent.data_offset, 40u + 9 * kBs);
  EXPECT_EQ(pieces[1].extent.file, 2u);
  EXPECT_EQ(pieces[2].extent.data_offset, 40u + 11 * kBs);
  index.Erase(0, 300);
  EXPECT_EQ(index.live_blocks(), 0u);
  EXPECT_TRUE(index.live_by_file().empty());
  pieces = index.Lookup(0, 10);
  ASSERT_EQ(pieces.size(), 1u);
  EXPECT_FALSE(pieces[0].written);
}

TEST(SegmentIndexTest, CompressedExtentsKeepTheirRecordAndAdvanceByBlock) {
  SegmentIndex index(kBs);
  IndexExtent e{.count = 8, .file = 3, .data_offset = 1000, .payload_len = 500, .block_delta = 0,
                .record_blocks = 8, .record_crc = 77, .compressed = true};
  index.Set(100, e);
  index.Erase(102, 2);
  auto pieces = index.Lookup(100, 8);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].extent.block_delta, 0u);
  EXPECT_FALSE(pieces[1].written);
  EXPECT_EQ(pieces[2].extent.block_delta, 4u);
  EXPECT_EQ(pieces[2].extent.data_offset, 1000u) << "a compressed extent points at its whole payload";
  EXPECT_EQ(pieces[2].extent.payload_len, 500u);
}

TEST(SegmentIndexTest, LiveStoredBytesCountCompressedBlocksByTheirShareOfTheRecord) {
  SegmentIndex index(kBs);
  // 8 blocks compressed into 800 bytes in file 3, 4 plain blocks in file 4.
  index.Set(0, IndexExtent{.count = 8, .file = 3, .data_offset = 40, .payload_len = 800, .record_blocks = 8,
                           .compressed = true});
  index.Set(8, IndexExtent{.count = 4, .file = 4, .data_offset = 40});
  EXPECT_EQ(index.live_stored_bytes_in(3), 800u);
  EXPECT_EQ(index.live_stored_bytes_in(4), 4u * kBs);
  index.Erase(2, 3);  // 3 of 8 compressed blocks die
  EXPECT_EQ(index.live_stored_bytes_in(3), 500u);
  index.Set(9, IndexExtent{.count = 1, .file = 3, .data_offset = 2000});  // a plain block moves to file 3
  EXPECT_EQ(index.live_stored_bytes_in(3), 500u + kBs);
  EXPECT_EQ(index.live_stored_bytes_in(4), 3u * kBs);
  index.Erase(0, 12);
  EXPECT_EQ(index.live_stored_bytes_in(3), 0u);
  EXPECT_EQ(index.live_stored_bytes_in(4), 0u);
  EXPECT_TRUE(index.live_by_file().empty());
}

TEST(SegmentIndexTest, MatchesAPlainModelUnderRandomWritesAndTrims) {
  constexpr size_t kBlocks = 2000;
  SegmentIndex index(kBs);
  Model model(kBlocks);
  std::mt19937_64 rng(42);
  uint64_t offset = 0;
  for (int i = 0; i < 5000; ++i) {
    uint64_t start = rng() % kBlocks;
    uint64_t count = 1 + rng() % std::min<uint64_t>(64, kBlocks - start);
    if (rng() % 5 == 0) {
      index.Erase(start, count);
      for (uint64_t b = start; b < start + count; ++b) model.at[b] = {0, 0};
    } else {
      uint32_t file = 1 + static_cast<uint32_t>(rng() % 7);
      offset += 40;
      index.Set(start, IndexExtent{.count = static_cast<uint32_t>(count), .file = file, .data_offset = offset});
      for (uint64_t b = start; b < start + count; ++b) model.at[b] = {file, offset + (b - start) * kBs};
      offset += count * kBs;
    }
  }
  uint64_t live = 0;
  std::map<uint32_t, uint64_t> by_file;
  for (const auto& p : index.Lookup(0, kBlocks)) {
    for (uint64_t b = p.block; b < p.block + p.count; ++b) {
      if (!p.written) {
        ASSERT_EQ(model.at[b].first, 0u) << "block " << b;
        continue;
      }
      ASSERT_EQ(model.at[b].first, p.extent.file) << "block " << b;
      ASSERT_EQ(model.at[b].second, p.extent.data_offset + (b - p.block) * kBs) << "block " << b;
      live++;
      by_file[p.extent.file]++;
    }
  }
  EXPECT_EQ(index.live_blocks(), live);
  EXPECT_EQ(index.live_by_file(), by_file);

  std::string bytes;
  index.Serialize(&bytes);
  auto parsed = SegmentIndex::Parse(bytes, kBs);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_TRUE(*parsed == index);
  EXPECT_EQ(parsed->live_by_file(), by_file);
  bytes.pop_back();
  EXPECT_FALSE(SegmentIndex::Parse(bytes, kBs).ok());
}

}  // namespace
}  // namespace strata::block
