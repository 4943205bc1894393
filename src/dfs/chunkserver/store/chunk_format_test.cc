#include "dfs/chunkserver/store/chunk_format.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "dfs/chunkserver/store/replica.h"

namespace strata::dfs {
namespace {

TEST(ChunkFormat, MetaRoundTrip) {
  ChunkMeta meta{0x1234567890abcdefULL, 7, true, 123456789};
  std::string bytes = EncodeChunkMeta(meta);
  ASSERT_EQ(bytes.size(), kMetaSize);
  auto back = DecodeChunkMeta(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chunk_id, meta.chunk_id);
  EXPECT_EQ(back->epoch, 7u);
  EXPECT_TRUE(back->sealed);
  EXPECT_EQ(back->sealed_length, 123456789u);
}

TEST(ChunkFormat, MetaDamageIsCorruption) {
  std::string bytes = EncodeChunkMeta(ChunkMeta{1, 2, false, 0});
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x40;
    EXPECT_EQ(DecodeChunkMeta(bad).status().code(), StatusCode::kCorruption) << "byte " << i;
  }
  EXPECT_EQ(DecodeChunkMeta(bytes.substr(0, 20)).status().code(), StatusCode::kCorruption);
}

TEST(ChunkFormat, TailSlotRoundTripAndDamage) {
  std::string bytes = EncodeTailSlot(TailSlot{9, 12345, 0xdeadbeef});
  ASSERT_EQ(bytes.size(), kSlotSize);
  auto back = DecodeTailSlot(bytes);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->seq, 9u);
  EXPECT_EQ(back->length, 12345u);
  EXPECT_EQ(back->tail_crc, 0xdeadbeefu);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x02;
    EXPECT_FALSE(DecodeTailSlot(bad).ok()) << "byte " << i;
  }
  EXPECT_FALSE(DecodeTailSlot(std::string(kSlotSize, '\0')).ok());  // never written
  EXPECT_EQ(kDataOffset % 4096, 0u);
  EXPECT_LT(kSlotOffset[0] + kSlotSize, kSlotOffset[1]);
}

TEST(ChunkFormat, NamesAndIds) {
  EXPECT_EQ(ChunkIdHex(255), "00000000000000ff");
  auto id = ChunkIdFromMetaName("00000000000000ff.meta");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 255u);
  EXPECT_FALSE(ChunkIdFromMetaName("00000000000000ff.data").ok());
  EXPECT_FALSE(ChunkIdFromMetaName("00000000000000fg.meta").ok());
  EXPECT_FALSE(ChunkIdFromMetaName("ff.meta").ok());
  ChunkPaths p = PathsForChunk("/d/chunks", 1);
  EXPECT_EQ(p.chunk, "/d/chunks/0000000000000001.chunk");
  EXPECT_EQ(p.meta, "/d/chunks/0000000000000001.meta");
}

// Entries computed append by append equal the CRCs of whole blocks.
TEST(ChunkFormat, IncrementalCrcEntriesMatchBlockCrcs) {
  std::string all;
  for (int i = 0; i < 3 * 4096 + 100; ++i) all.push_back(static_cast<char>(i * 7 + 3));
  std::string entries;
  uint32_t tail = 0;
  size_t pos = 0;
  for (size_t piece : {10u, 4086u, 1u, 5000u, 3000u}) {
    std::string step;
    tail = ComputeCrcEntries(pos, tail, std::string_view(all).substr(pos, piece), &step);
    // Overwrite the partial entry the way the store does.
    entries.resize((pos / kChunkBlockSize) * kCrcEntrySize);
    entries += step;
    pos += piece;
  }
  all.resize(pos);
  ASSERT_EQ(entries.size(), BlockCount(pos) * kCrcEntrySize);
  for (uint64_t b = 0; b < BlockCount(pos); ++b) {
    std::string_view block = std::string_view(all).substr(b * kChunkBlockSize, kChunkBlockSize);
    EXPECT_EQ(GetU32(entries.data() + b * kCrcEntrySize), Crc32c(block.data(), block.size())) << b;
  }
  size_t tail_start = (pos / kChunkBlockSize) * kChunkBlockSize;
  ASSERT_NE(tail_start, pos);
  EXPECT_EQ(tail, Crc32c(all.data() + tail_start, pos - tail_start));
}

}  // namespace
}  // namespace strata::dfs
