#include "dfs/master/placement.h"

#include <map>

#include <gtest/gtest.h>

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

std::vector<std::string> Ids(const Result<std::vector<PlacementChoice>>& r) {
  std::vector<std::string> ids;
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (r.ok()) for (const auto& c : *r) ids.push_back(c.server_id);
  return ids;
}

PlacementRequest Req(uint32_t n = 3) {
  PlacementRequest r;
  r.replicas = n;
  r.bytes_needed = 64 << 20;
  return r;
}

TEST(PlacementTest, DistinctRacksAndDeterministic) {
  std::vector<ServerView> s = {Server("a1", "A"), Server("a2", "A"), Server("b1", "B"), Server("c1", "C")};
  auto first = Ids(PlaceReplicas(s, Req()));
  EXPECT_EQ(first, (std::vector<std::string>{"a1", "b1", "c1"}));
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Ids(PlaceReplicas(s, Req())), first);
  std::reverse(s.begin(), s.end());
  EXPECT_EQ(Ids(PlaceReplicas(s, Req())), first);
}

TEST(PlacementTest, NotEnoughRacksIsUnavailableUnlessFallback) {
  std::vector<ServerView> s = {Server("a1", "A"), Server("a2", "A"), Server("b1", "B")};
  auto r = PlaceReplicas(s, Req());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("2 rack"), std::string::npos) << r.status().message();
  auto req = Req();
  req.allow_rack_reuse = true;
  EXPECT_EQ(Ids(PlaceReplicas(s, req)), (std::vector<std::string>{"a1", "b1", "a2"}));
  req.exclude_servers = {"a2"};
  EXPECT_EQ(PlaceReplicas(s, req).status().code(), StatusCode::kUnavailable);
  // More replicas than the cluster has servers: no retry can help.
  req = Req();
  req.replicas = 4;
  req.allow_rack_reuse = true;
  auto too_many = PlaceReplicas(s, req);
  EXPECT_EQ(too_many.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(too_many.status().message().find("has 3 chunkserver"), std::string::npos) << too_many.status().message();
}

// A disk whose writes stall (a hung disk's probe) is avoided at once, and
// used only when nothing else will do.
TEST(PlacementTest, StalledDisksComeLast) {
  std::vector<ServerView> s = {Server("a1", "A"), Server("b1", "B"), Server("c1", "C", 90 * kGiB),
                               Server("c2", "C")};
  EXPECT_EQ(Ids(PlaceReplicas(s, Req())), (std::vector<std::string>{"c1", "a1", "b1"}));  // most headroom first
  s[2].disks[0].stalled = true;
  s[2].disks[1].stalled = true;
  EXPECT_EQ(Ids(PlaceReplicas(s, Req())), (std::vector<std::string>{"a1", "b1", "c2"}));
  // Within a server, the stalled disk is passed over.
  s[2].disks[1].stalled = false;
  EXPECT_EQ(*ChooseDisk(s[2], 1, 0), 1u);
  // The only server of its rack: still used.
  s[2].disks[1].stalled = true;
  s.pop_back();
  EXPECT_EQ(Ids(PlaceReplicas(s, Req())), (std::vector<std::string>{"a1", "b1", "c1"}));
}

TEST(PlacementTest, BalancesByFreeSpaceThenLoadThenReplicas) {
  std::vector<ServerView> s = {Server("a1", "A", 10 * kGiB), Server("a2", "A", 90 * kGiB), Server("b1", "B"),
                               Server("c1", "C"), Server("c2", "C")};
  s[3].load = 2;  // c1 busy
  s[4].replicas = 10;
  auto ids = Ids(PlaceReplicas(s, Req()));
  EXPECT_EQ(ids, (std::vector<std::string>{"a2", "b1", "c2"}));
  // Equal load: fewer replicas wins.
  s[3].load = 0;
  ids = Ids(PlaceReplicas(s, Req()));
  EXPECT_EQ(ids[2], "c1");
}

TEST(PlacementTest, SpreadsConsecutiveAllocationsWhenLoadIsCounted) {
  std::vector<ServerView> s;
  for (int i = 0; i < 6; ++i) s.push_back(Server("s" + std::to_string(i), "r" + std::to_string(i % 3)));
  std::map<std::string, int> count;
  for (int n = 0; n < 60; ++n) {
    auto r = PlaceReplicas(s, Req());
    ASSERT_TRUE(r.ok());
    for (const auto& c : *r) {
      count[c.server_id]++;
      for (auto& v : s) if (v.id == c.server_id) v.replicas++;
    }
  }
  for (const auto& [id, n] : count) EXPECT_EQ(n, 30) << id;
}

TEST(PlacementTest, SkipsFailedAndFullDisksAndExcluded) {
  std::vector<ServerView> s = {Server("a1", "A"), Server("b1", "B"), Server("b2", "B"), Server("c1", "C")};
  s[0].disks[0].failed = true;
  s[0].disks[1].free_bytes = 1 << 20;  // too small
  s[1].disks[0].failed = true;
  s[1].disks[1].replicas = 5;
  auto req = Req(2);
  auto r = PlaceReplicas(s, req);
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"b1", "c1"}));
  EXPECT_EQ((*r)[0].disk, 1u);  // the only healthy disk of b1
  req.exclude_servers = {"b1"};
  EXPECT_EQ(Ids(PlaceReplicas(s, req)), (std::vector<std::string>{"b2", "c1"}));
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
