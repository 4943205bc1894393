#include "block/server/log_record.h"

#include <gtest/gtest.h>

#include <random>

namespace strata::block {
namespace {

std::string RandomBlocks(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(LogRecordTest, PlainAndCompressedWritesRoundTrip) {
  std::string random = RandomBlocks(8192, 1);
  std::string zeros(16384, 'z');
  std::string log;
  LogRecordHeader a = AppendWriteRecord(7, 100, 4096, random, true, &log);
  size_t second = log.size();
  LogRecordHeader b = AppendWriteRecord(8, 3, 4096, zeros, true, &log);
  EXPECT_EQ(a.flags, 0) << "random data does not compress: stored plain";
  EXPECT_EQ(b.flags, kLogRecordLz4);
  EXPECT_LT(b.payload_len, zeros.size() / 8);

  auto ha = ParseLogRecord(log);
  ASSERT_TRUE(ha.ok()) << ha.status().ToString();
  EXPECT_EQ(ha->lsn, 7u);
  EXPECT_EQ(ha->first_block, 100u);
  EXPECT_EQ(ha->block_count, 2u);
  auto da = DecodeWritePayload(*ha, 4096, std::string_view(log).substr(kLogRecordHeaderBytes, ha->payload_len));
  ASSERT_TRUE(da.ok());
  EXPECT_EQ(*da, random);

  auto hb = ParseLogRecord(std::string_view(log).substr(second));
  ASSERT_TRUE(hb.ok()) << hb.status().ToString();
  auto db = DecodeWritePayload(*hb, 4096, std::string_view(log).substr(second + kLogRecordHeaderBytes, hb->payload_len));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*db, zeros);
}

TEST(LogRecordTest, TornAndCorruptRecordsAreRefused) {
  std::string log;
  AppendWriteRecord(1, 0, 4096, RandomBlocks(4096, 2), false, &log);
  EXPECT_EQ(ParseLogRecord(std::string_view(log).substr(0, 20)).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ParseLogRecord(std::string_view(log).substr(0, log.size() - 1)).status().code(), StatusCode::kOutOfRange);
  std::string bad = log;
  bad[kLogRecordHeaderBytes + 100] ^= 1;
  EXPECT_EQ(ParseLogRecord(bad).status().code(), StatusCode::kCorruption);
  bad = log;
  bad[0] = 'x';
  EXPECT_EQ(ParseLogRecord(bad).status().code(), StatusCode::kCorruption);
}

TEST(LogRecordTest, TrimRecordsCarryNoPayload) {
  std::string log;
  AppendTrimRecord(9, 5, 1000, &log);
  EXPECT_EQ(log.size(), kLogRecordHeaderBytes);
  auto h = ParseLogRecord(log);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->kind, LogRecordKind::kTrim);
  EXPECT_EQ(h->block_count, 1000u);
}

TEST(LogRecordTest, ACompressedPayloadThatDoesNotMatchItsChecksumIsCorrupt) {
  std::string log;
  LogRecordHeader h = AppendWriteRecord(1, 0, 4096, std::string(4096, 'a'), true, &log);
  ASSERT_EQ(h.flags, kLogRecordLz4);
  h.raw_crc ^= 1;
  EXPECT_EQ(DecodeWritePayload(h, 4096, std::string_view(log).substr(kLogRecordHeaderBytes)).status().code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace strata::block
