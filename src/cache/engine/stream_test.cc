// StreamObject on its own: id parsing as Redis's streamParseID, trimming,
// the entries_read / lag estimate, and the persisted form (a round trip,
// and every damaged record refused rather than half read).
#include "cache/engine/stream.h"

#include <gtest/gtest.h>

namespace strata::cache {
namespace {

std::unique_ptr<StreamObject> Sample() {
  auto s = std::make_unique<StreamObject>();
  std::string_view fv[] = {"field", "value", "f2", std::string_view("\0bin", 4)};
  for (uint64_t i = 1; i <= 6; i++) s->Append({10, i}, fv);
  s->Delete({10, 3});
  StreamGroup& g = s->groups()["workers"];
  g.last_id = {10, 1};
  for (uint64_t i = 2; i <= 4; i++) s->Deliver(g, i % 2 ? "alice" : "bob", {10, i}, 1000 + i, false);
  s->groups()["empty"].consumers["idle"].seen_ms = 5;
  return s;
}

TEST(StreamObjectTest, ParsesIdsAsRedis) {
  auto id = [](std::string_view s, bool strict = false) { return ParseStreamId(s, 7, strict, true); };
  EXPECT_EQ(id("5")->id, (StreamId{5, 7}));  // a missing seq takes the caller's default
  EXPECT_EQ(id("5-3")->id, (StreamId{5, 3}));
  EXPECT_EQ(id("-")->id, StreamId::Min());
  EXPECT_EQ(id("+")->id, StreamId::Max());
  EXPECT_FALSE(id("-", true).ok());
  EXPECT_FALSE(id("5-*")->seq_given);
  EXPECT_FALSE(ParseStreamId("5-*", 0, true).ok());  // "ms-*" only where XADD allows it
  EXPECT_EQ(id("18446744073709551615-18446744073709551615")->id, StreamId::Max());
  for (std::string_view bad : {"", "x", "1-", "-1", "1-2-3", "18446744073709551616", " 1", "1.5", "+1"}) {
    EXPECT_FALSE(id(bad).ok()) << bad;
  }
  StreamId max = StreamId::Max(), min = StreamId::Min();
  EXPECT_FALSE(max.Incr());
  EXPECT_FALSE(min.Decr());
  StreamId edge{1, UINT64_MAX};
  EXPECT_TRUE(edge.Incr());
  EXPECT_EQ(edge, (StreamId{2, 0}));
}

TEST(StreamObjectTest, DeliveryMovesPendingEntriesBetweenConsumers) {
  auto s = Sample();
  StreamGroup& g = *s->Group("workers");
  EXPECT_EQ(g.last_id, (StreamId{10, 4}));
  EXPECT_EQ(g.pel.size(), 3u);
  EXPECT_EQ(g.consumers["bob"].pending.size(), 2u);
  // Redelivering 10-2 (after an XGROUP SETID) gives it to the new reader.
  s->Deliver(g, "alice", {10, 2}, 2000, false);
  EXPECT_EQ(g.pel.at({10, 2}).consumer, "alice");
  EXPECT_EQ(g.consumers["bob"].pending.size(), 1u);
  EXPECT_EQ(g.consumers["alice"].pending.size(), 2u);
  EXPECT_TRUE(StreamObject::Ack(g, {10, 2}));
  EXPECT_FALSE(StreamObject::Ack(g, {10, 2}));
  EXPECT_EQ(g.consumers["alice"].pending.size(), 1u);
}

TEST(StreamObjectTest, EncodeDecodeRoundTripsAndRefusesDamage) {
  auto s = Sample();
  std::string bytes = s->Encode();
  auto back = StreamObject::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->Encode(), bytes);
  EXPECT_EQ((*back)->Size(), 5u);
  EXPECT_EQ((*back)->max_deleted_id, (StreamId{10, 3}));
  EXPECT_EQ((*back)->Group("workers")->consumers.at("bob").pending.size(), 2u);
  EXPECT_EQ((*back)->MemoryUsage(), s->MemoryUsage());
  for (size_t n = 0; n < bytes.size(); n++) {
    EXPECT_FALSE(StreamObject::Decode(std::string_view(bytes).substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(StreamObject::Decode(bytes + "x").ok());
  std::string other_version = bytes;
  other_version[0] = 2;
  EXPECT_FALSE(StreamObject::Decode(other_version).ok());
  std::string huge_count = bytes;
  huge_count[57 + 7] = '\x7f';  // entry_count's top byte
  EXPECT_FALSE(StreamObject::Decode(huge_count).ok());
}

TEST(StreamObjectTest, EntriesReadAndLagFollowRedis) {
  StreamObject s;
  StreamGroup g;
  EXPECT_EQ(s.Lag(g), 0);  // a stream never written to
  std::string_view fv[] = {"f", "v"};
  for (uint64_t i = 1; i <= 4; i++) s.Append({1, i}, fv);
  s.Deliver(g, "c", {1, 1}, 0, true);
  EXPECT_EQ(g.entries_read, 1);
  EXPECT_EQ(s.Lag(g), 3);
  s.Deliver(g, "c", {1, 2}, 0, true);
  EXPECT_EQ(g.entries_read, 2);
  s.Delete({1, 4});  // a tombstone after the group: the lag is unknown
  EXPECT_EQ(s.Lag(g), std::nullopt);
  EXPECT_EQ(s.EstimateEntriesRead({1, 4}), 4);  // the last id is exact
  EXPECT_EQ(s.EstimateEntriesRead({9, 9}), StreamGroup::kInvalidEntriesRead);
  EXPECT_EQ(s.TrimMaxLen(1, false, 0), 2u);
  EXPECT_EQ(s.first_id, (StreamId{1, 3}));
  EXPECT_EQ(s.TrimMinId({2, 0}, false, 0), 1u);
  EXPECT_EQ(s.first_id, StreamId{});
  EXPECT_EQ(s.last_id, (StreamId{1, 4}));
}

}  // namespace
}  // namespace strata::cache
