#include "rpc/leader_endpoints.h"

#include <gtest/gtest.h>

namespace strata::rpc {
namespace {

TEST(LeaderEndpointsTest, SplitsAListAndStartsAtItsFirstAddress) {
  EXPECT_EQ(LeaderEndpoints::Split(" a:1, b:2,,c:3 "), (std::vector<std::string>{"a:1", "b:2", "c:3"}));
  LeaderEndpoints e("a:1,b:2");
  EXPECT_EQ(e.size(), 2u);
  EXPECT_EQ(e.Current(), "a:1");
}

TEST(LeaderEndpointsTest, OneAddressAlwaysBacksOff) {
  LeaderEndpoints e("a:1");
  EXPECT_FALSE(e.Failed("a:1", Status::Unavailable("refused")));
  EXPECT_FALSE(e.Failed("a:1", Status::NotLeader("master standby", "")));
  EXPECT_EQ(e.Current(), "a:1");
}

TEST(LeaderEndpointsTest, FollowsARedirectAtOnce) {
  LeaderEndpoints e("a:1,b:2,c:3");
  EXPECT_TRUE(e.Failed("a:1", Status::NotLeader("master standby", "c:3").WithContext("stat /x")));
  EXPECT_EQ(e.Current(), "c:3");
  e.Answered("c:3");
  EXPECT_EQ(e.Current(), "c:3");
}

TEST(LeaderEndpointsTest, ARedirectToAnUnknownAddressAddsIt) {
  LeaderEndpoints e("a:1,b:2");
  EXPECT_TRUE(e.Failed("a:1", Status::NotLeader("master standby", "d:4")));
  EXPECT_EQ(e.Current(), "d:4");
  EXPECT_EQ(e.size(), 3u);
}

TEST(LeaderEndpointsTest, TriesEveryAddressOnceThenBacksOff) {
  LeaderEndpoints e("a:1,b:2,c:3");
  EXPECT_TRUE(e.Failed("a:1", Status::Unavailable("refused")));
  EXPECT_EQ(e.Current(), "b:2");
  EXPECT_TRUE(e.Failed("b:2", Status::NotLeader("master standby", "")));
  EXPECT_EQ(e.Current(), "c:3");
  EXPECT_FALSE(e.Failed("c:3", Status::DeadlineExceeded("slow")));
  EXPECT_EQ(e.Current(), "a:1");
}

// Standbys that still name a dead leader (its lease has not expired yet)
// send the caller round in circles: it backs off after as many redirects as
// there are addresses.
TEST(LeaderEndpointsTest, RedirectsToADeadLeaderAreBounded) {
  LeaderEndpoints e("a:1,b:2,c:3");
  int at_once = 0;
  for (int i = 0; i < 12; ++i) {
    std::string addr = e.Current();
    Status st = addr == "a:1" ? Status::Unavailable("refused") : Status::NotLeader("master standby", "a:1");
    if (!e.Failed(addr, st)) break;
    ++at_once;
  }
  EXPECT_LE(at_once, 6);
}

}  // namespace
}  // namespace strata::rpc
