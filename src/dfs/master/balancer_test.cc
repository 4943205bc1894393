#include "dfs/master/balancer.h"

#include <map>

#include <gtest/gtest.h>

namespace strata::dfs::master {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

ServerView Server(const std::string& id, uint32_t replicas, uint64_t free = 50 * kGiB) {
  ServerView s;
  s.id = id;
  s.rack = "r" + id;
  s.replicas = replicas;
  s.disks = {{0, 100 * kGiB, free, false, replicas}};
  return s;
}

MasterOptions Options() {
  MasterOptions o;
  o.balance_replicas_spread_min = 4;
  o.balance_replicas_spread_fraction = 0.05;
  o.balance_disk_use_spread_max = 0.10;
  return o;
}

// Every pair may move any chunk; counts what moved where.
struct AnyChunk {
  std::map<std::string, int> from, to;
  uint64_t next = 1;
  std::optional<MovableChunk> operator()(const ServerView& s, const ServerView& t) {
    from[s.id]++;
    to[t.id]++;
    return MovableChunk{next++, 1 << 20};
  }
};

TEST(BalancerTest, AnEvenClusterPlansNothing) {
  std::vector<ServerView> v = {Server("a", 30), Server("b", 28), Server("c", 32)};  // spread 4: even
  AnyChunk any;
  EXPECT_TRUE(PlanMoves(v, Options(), 10, std::ref(any)).empty());
}

// A new, empty server takes replicas from the fullest ones, and the plan
// stops where the spread is within bounds, not before and not beyond.
TEST(BalancerTest, ReplicasMoveFromTheFullestToTheEmptiest) {
  std::vector<ServerView> v = {Server("a", 40), Server("b", 36), Server("c", 30), Server("new", 0)};
  AnyChunk any;
  auto moves = PlanMoves(v, Options(), 100, std::ref(any));
  ASSERT_FALSE(moves.empty());
  std::map<std::string, int> count = {{"a", 40}, {"b", 36}, {"c", 30}, {"new", 0}};
  for (const auto& m : moves) {
    EXPECT_EQ(m.target, "new");
    count[m.source]--;
    count[m.target]++;
  }
  EXPECT_EQ(moves[0].source, "a");
  int lo = 1 << 30, hi = 0;
  for (const auto& [id, n] : count) {
    lo = std::min(lo, n);
    hi = std::max(hi, n);
  }
  EXPECT_LE(hi - lo, 5);  // within the spread (4), or one move from it
  EXPECT_GE(count["new"], 20);
  // At most as many as asked.
  EXPECT_EQ(PlanMoves(v, Options(), 3, std::ref(any)).size(), 3u);
}

// When no chunk may move between a pair (rack spread), the next pair is tried.
TEST(BalancerTest, APairWithoutAMovableChunkIsPassedOver) {
  std::vector<ServerView> v = {Server("a", 40), Server("b", 40), Server("new", 0)};
  auto only_from_b = [n = uint64_t{1}](const ServerView& s, const ServerView&) mutable -> std::optional<MovableChunk> {
    if (s.id != "b") return std::nullopt;
    return MovableChunk{n++, 1 << 20};
  };
  auto moves = PlanMoves(v, Options(), 5, only_from_b);
  ASSERT_EQ(moves.size(), 5u);
  for (const auto& m : moves) EXPECT_EQ(m.source, "b");
}

// Disk use comes first: a server whose disk is far fuller gives replicas to
// the emptiest even when counts are even.
TEST(BalancerTest, DiskUseSpreadComesBeforeCounts) {
  std::vector<ServerView> v = {Server("full", 30, 10 * kGiB), Server("b", 30), Server("c", 30, 80 * kGiB)};
  auto big = [n = uint64_t{1}](const ServerView&, const ServerView&) mutable {
    return std::optional<MovableChunk>(MovableChunk{n++, 10 * kGiB});
  };
  auto moves = PlanMoves(v, Options(), 10, big);
  ASSERT_FALSE(moves.empty());
  EXPECT_EQ(moves[0].source, "full");
  EXPECT_EQ(moves[0].target, "c");
  // 90 % and 20 % used: 10 GiB moves until within 10 %: about three moves.
  EXPECT_LE(moves.size(), 4u);
  EXPECT_NEAR(DiskUse(v[0]), 0.9, 1e-9);
}

}  // namespace
}  // namespace strata::dfs::master
