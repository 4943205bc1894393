#include "dfs/master/placement.h"

#include <algorithm>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "env/random.h"

namespace strata::dfs::master {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

ServerView Server(const std::string& id, const std::string& rack, uint64_t free = 50 * kGiB) {
  ServerView s;
  s.id = id;
  s.rack = rack;
  s.disks = {{0, 100 * kGiB, free, false, 0}, {1, 100 * kGiB, free, false, 0}};
  return s;
}

// The chosen servers, sorted (the order of the picks is random).
std::vector<std::string> Ids(const Result<std::vector<PlacementChoice>>& r) {
  std::vector<std::string> ids;
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) for (const auto& c : *r) ids.push_back(c.server_id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

PlacementRequest Req(uint32_t n = 3) {
  PlacementRequest r;
  r.replicas = n;
  r.bytes_needed = 64 << 20;
  return r;
}

TEST(PlacementTest, DistinctRacksAndTheSameForTheSameSeed) {
  std::vector<ServerView> s = {Server("a1", "A"), Server("a2", "A"), Server("b1", "B"), Server("c1", "C")};
  Random rnd(7);
  auto first = Ids(PlaceReplicas(s, Req(), &rnd));
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[1], "b1");
  EXPECT_EQ(first[2], "c1");
  // The same seed and state: the same choices, whatever the input order.
  std::vector<std::vector<std::string>> runs;
  for (bool reversed : {false, true}) {
    if (reversed) std::reverse(s.begin(), s.end());
    Random again(7);
    runs.emplace_back();
    for (int i = 0; i < 20; ++i) {
      for (const auto& id : Ids(PlaceReplicas(s, Req(), &again))) runs.back().push_back(id);
    }
  }
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(PlacementTest, NotEnoughRacksIsUnavailableUnlessFallback) {
  Random rnd(1);
  std::vector<ServerView> s = {Server("a1", "A"), Server("a2", "A"), Server("b1", "B")};
  auto r = PlaceReplicas(s, Req(), &rnd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("2 rack"), std::string::npos) << r.status().message();
  auto req = Req();
  req.allow_rack_reuse = true;
  EXPECT_EQ(Ids(PlaceReplicas(s, req, &rnd)), (std::vector<std::string>{"a1", "a2", "b1"}));
  req.exclude_servers = {"a2"};
  EXPECT_EQ(PlaceReplicas(s, req, &rnd).status().code(), StatusCode::kUnavailable);
  // More replicas than the cluster has servers: no retry can help.
  req = Req();
  req.replicas = 4;
  req.allow_rack_reuse = true;
  auto too_many = PlaceReplicas(s, req, &rnd);
  EXPECT_EQ(too_many.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(too_many.status().message().find("has 3 chunkserver"), std::string::npos) << too_many.status().message();
}

// A disk whose writes stall (a hung disk's probe) is avoided at once, and
// used only when nothing else will do.
TEST(PlacementTest, StalledDisksComeLast) {
  Random rnd(1);
  std::vector<ServerView> s = {Server("a1", "A"), Server("b1", "B"), Server("c1", "C", 90 * kGiB),
                               Server("c2", "C")};
  EXPECT_EQ(Ids(PlaceReplicas(s, Req(), &rnd)), (std::vector<std::string>{"a1", "b1", "c1"}));  // most headroom
  s[2].disks[0].stalled = true;
  s[2].disks[1].stalled = true;
  EXPECT_EQ(Ids(PlaceReplicas(s, Req(), &rnd)), (std::vector<std::string>{"a1", "b1", "c2"}));
  // Within a server, the stalled disk is passed over.
  s[2].disks[1].stalled = false;
  EXPECT_EQ(*ChooseDisk(s[2], 1, 0), 1u);
  // The only server of its rack: still used.
  s[2].disks[1].stalled = true;
  s.pop_back();
  EXPECT_EQ(Ids(PlaceReplicas(s, Req(), &rnd)), (std::vector<std::string>{"a1", "b1", "c1"}));
}

TEST(PlacementTest, BalancesByFreeSpaceThenLoadThenReplicas) {
  Random rnd(1);
  std::vector<ServerView> s = {Server("a1", "A", 10 * kGiB), Server("a2", "A", 90 * kGiB), Server("b1", "B"),
                               Server("c1", "C"), Server("c2", "C")};
  s[3].load = 2;  // c1 busy
  s[4].replicas = 10;
  auto ids = Ids(PlaceReplicas(s, Req(), &rnd));
  EXPECT_EQ(ids, (std::vector<std::string>{"a2", "b1", "c2"}));
  // Equal load: of the two drawn, fewer replicas wins.
  s[3].load = 0;
  for (int i = 0; i < 10; ++i) EXPECT_EQ(Ids(PlaceReplicas(s, Req(), &rnd))[2], "c1");
}

TEST(PlacementTest, SpreadsConsecutiveAllocationsWhenLoadIsCounted) {
  Random rnd(1);
  std::vector<ServerView> s;
  for (int i = 0; i < 6; ++i) s.push_back(Server("s" + std::to_string(i), "r" + std::to_string(i % 3)));
  std::map<std::string, int> count;
  for (int n = 0; n < 60; ++n) {
    auto r = PlaceReplicas(s, Req(), &rnd);
    ASSERT_TRUE(r.ok());
    for (const auto& c : *r) {
      count[c.server_id]++;
      for (auto& v : s) if (v.id == c.server_id) v.replicas++;
    }
  }
  for (const auto& [id, n] : count) EXPECT_EQ(n, 30) << id;
}

// Placements over many chunks, each counted in the views as the master
// counts it: `counts` per server, `sets` per replica set.
void PlaceMany(std::vector<ServerView>& s, int chunks, uint64_t seed, std::map<std::string, int>* counts,
               std::map<std::vector<std::string>, int>* sets) {
  Random rnd(seed);
  for (int n = 0; n < chunks; ++n) {
    auto r = PlaceReplicas(s, Req(), &rnd);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (const auto& c : *r) {
      (*counts)[c.server_id]++;
      for (auto& v : s) if (v.id == c.server_id) v.replicas++;
    }
    (*sets)[Ids(r)]++;
  }
}

// Every server of a rack gets chunks, and the counts stay within a few
// percent of each other; across seeds the same holds.
TEST(PlacementTest, SpreadsOverEveryServerOfEachRack) {
  for (uint64_t seed : {1, 2, 3}) {
    std::vector<ServerView> s;
    for (int i = 0; i < 12; ++i) s.push_back(Server("s" + std::to_string(i), "r" + std::to_string(i % 4)));
    std::map<std::string, int> counts;
    std::map<std::vector<std::string>, int> sets;
    PlaceMany(s, 1200, seed, &counts, &sets);
    ASSERT_EQ(counts.size(), 12u) << "seed " << seed;
    for (const auto& [id, n] : counts) {  // 3600 replicas over 12 servers: 300 each
      EXPECT_GE(n, 285) << id << " seed " << seed;
      EXPECT_LE(n, 315) << id << " seed " << seed;
    }
  }
}

// With two servers per rack and three racks there are eight replica sets;
// each is used about equally, not two of them always.
TEST(PlacementTest, UsesEveryReplicaSetNotAFewFixedTriples) {
  std::vector<ServerView> s;
  for (int i = 0; i < 6; ++i) s.push_back(Server("s" + std::to_string(i), "r" + std::to_string(i % 3)));
  std::map<std::string, int> counts;
  std::map<std::vector<std::string>, int> sets;
  PlaceMany(s, 800, 5, &counts, &sets);
  EXPECT_EQ(sets.size(), 8u);
  for (const auto& [set, n] : sets) EXPECT_GE(n, 50) << set[0] << "," << set[1] << "," << set[2];  // 100 expected
  for (const auto& [id, n] : counts) EXPECT_EQ(n, 400) << id;  // of two drawn, the emptier wins
}

TEST(PlacementTest, SkipsFailedAndFullDisksAndExcluded) {
  Random rnd(1);
  std::vector<ServerView> s = {Server("a1", "A"), Server("b1", "B"), Server("b2", "B"), Server("c1", "C")};
  s[0].disks[0].failed = true;
  s[0].disks[1].free_bytes = 1 << 20;  // too small
  s[1].disks[0].failed = true;
  s[1].disks[1].replicas = 5;
  s[2].replicas = 5;  // b1 wins the draw within rack B
  auto req = Req(2);
  auto r = PlaceReplicas(s, req, &rnd);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"b1", "c1"}));
  for (const auto& c : *r) {
    if (c.server_id == "b1") {
      EXPECT_EQ(c.disk, 1u);  // the only healthy disk of b1
    }
  }
  req.exclude_servers = {"b1"};
  EXPECT_EQ(Ids(PlaceReplicas(s, req, &rnd)), (std::vector<std::string>{"b2", "c1"}));
}

TEST(PlacementTest, DiskChoiceWithinServer) {
  ServerView s = Server("a", "A");
  s.disks[0].replicas = 3;
  s.disks[1].replicas = 1;
  EXPECT_EQ(*ChooseDisk(s, 1, 0), 1u);
  s.disks[0].free_bytes = 90 * kGiB;  // far more headroom wins over count
  EXPECT_EQ(*ChooseDisk(s, 1, 0), 0u);
  s.disks[0].failed = true;
  s.disks[1].free_bytes = 10;
  EXPECT_FALSE(ChooseDisk(s, 64, 0).ok());
}

}  // namespace
}  // namespace strata::dfs::master
