// Placement, moves, token buckets and the shared failure domain, as pure
// logic over records.
#include "block/manager/segment_assignment.h"

#include <algorithm>

#include <gtest/gtest.h>

namespace strata::block::manager {
namespace {

constexpr uint64_t kMinuteUs = 60ull * 1000 * 1000;

AssignmentPolicy Policy() {
  AssignmentPolicy p;
  p.tokens_max = 3;
  p.refill_us = 30 * kMinuteUs;
  p.domain_servers = 3;
  return p;
}

SegmentRecord Owned(const std::string& owner, uint64_t epoch, uint64_t now) {
  SegmentRecord s = NewSegment(1, 0, Policy(), now);
  s.set_owner_id(owner);
  s.set_epoch(epoch);
  return s;
}

std::vector<std::string> Members(const FailureDomainRecord& d) { return {d.members().begin(), d.members().end()}; }

TEST(SegmentAssignmentTest, ServerIdsSortNaturally) {
  std::vector<std::string> ids = {"bs10", "bs2", "bs1", "a", "bs02x", "bs2x", "b"};
  std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) { return ServerIdLess(a, b); });
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "bs1", "bs2", "bs02x", "bs2x", "bs10"}));
  EXPECT_FALSE(ServerIdLess("bs1", "bs1"));
  EXPECT_TRUE(ServerIdLess("bs01", "bs1") != ServerIdLess("bs1", "bs01"));  // still a strict order
}

TEST(SegmentAssignmentTest, NewSegmentsGoToTheLeastLoadedTiesById) {
  SegmentAssigner a({"bs3", "bs1", "bs2"}, {{"bs1", 2}, {"bs2", 0}, {"bs3", 0}}, {}, Policy());
  std::vector<std::string> owners;
  for (uint32_t i = 0; i < 5; ++i) {
    SegmentRecord s = NewSegment(1, i, Policy(), 0);
    ASSERT_TRUE(a.Place(&s));
    EXPECT_EQ(s.epoch(), 1u);
    EXPECT_EQ(s.tokens(), 3u);  // a first owner costs no token
    owners.push_back(s.owner_id());
  }
  // bs2 and bs3 catch up with bs1, then all three take turns by id.
  EXPECT_EQ(owners, (std::vector<std::string>{"bs2", "bs3", "bs2", "bs3", "bs1"}));
  SegmentAssigner none({}, {}, {}, Policy());
  SegmentRecord s = NewSegment(1, 0, Policy(), 0);
  EXPECT_FALSE(none.Place(&s));
  EXPECT_TRUE(s.owner_id().empty());
}

TEST(SegmentAssignmentTest, AMoveBumpsTheEpochAndSpendsAToken) {
  uint64_t now = 100 * kMinuteUs;
  SegmentAssigner a({"bs2", "bs3"}, {{"bs2", 5}, {"bs3", 1}}, {}, Policy());
  SegmentRecord s = Owned("bs1", 4, now);
  ASSERT_TRUE(a.Move(&s, now));
  EXPECT_EQ(s.owner_id(), "bs3");
  EXPECT_EQ(s.last_owner_id(), "bs1");
  EXPECT_EQ(s.epoch(), 5u);
  EXPECT_EQ(s.moves(), 1u);
  EXPECT_EQ(s.tokens(), 2u);
  EXPECT_EQ(s.token_refill_from_us(), now);
  EXPECT_FALSE(a.domain_changed());
  // Nowhere to go: unchanged.
  SegmentAssigner lonely({"bs1"}, {}, {}, Policy());
  SegmentRecord t = Owned("bs1", 1, now);
  EXPECT_FALSE(lonely.Move(&t, now));
  EXPECT_EQ(t.owner_id(), "bs1");
  EXPECT_EQ(t.epoch(), 1u);
}

TEST(SegmentAssignmentTest, TokensRefillOnePerPeriod) {
  AssignmentPolicy p = Policy();
  SegmentRecord s = NewSegment(1, 0, p, 0);
  s.set_tokens(0);
  s.set_token_refill_from_us(10 * kMinuteUs);
  EXPECT_EQ(TokensAt(s, 10 * kMinuteUs, p).tokens, 0u);
  EXPECT_TRUE(IsRestricted(s, 39 * kMinuteUs, p));
  TokenBucket b = TokensAt(s, 41 * kMinuteUs, p);
  EXPECT_EQ(b.tokens, 1u);
  EXPECT_EQ(b.refill_from_us, 40 * kMinuteUs);  // the next token counts from the last one
  EXPECT_EQ(TokensAt(s, 71 * kMinuteUs, p).tokens, 2u);
  EXPECT_EQ(TokensAt(s, 1000 * kMinuteUs, p).tokens, 3u);  // never above the bucket
  s.set_token_refill_from_us(50 * kMinuteUs);  // the wall clock went back: no tokens, no underflow
  EXPECT_EQ(TokensAt(s, 20 * kMinuteUs, p).tokens, 0u);
}

// A poisonous segment: every owner it lands on dies. After three moves it
// is out of tokens and the shared domain forms from the three alive
// servers with the lowest ids; from then on it only lands there.
TEST(SegmentAssignmentTest, ARestrictedSegmentMovesOnlyInsideTheSharedDomain) {
  uint64_t now = 1000 * kMinuteUs;
  std::vector<std::string> alive = {"bs1", "bs2", "bs3", "bs4", "bs5", "bs6", "bs7"};
  std::map<std::string, uint64_t> load = {{"bs1", 9}, {"bs2", 9}, {"bs3", 9}, {"bs4", 9},
                                          {"bs5", 0}, {"bs6", 1}, {"bs7", 2}};
  FailureDomainRecord domain;
  SegmentRecord s = Owned("bs7", 1, now);
  std::vector<std::string> landed;
  for (int move = 0; move < 3; ++move) {
    std::erase(alive, s.owner_id());  // the owner died
    SegmentAssigner a(alive, load, domain, Policy());
    ASSERT_TRUE(a.Move(&s, now + move));
    load[s.owner_id()]++;
    landed.push_back(s.owner_id());
    domain = a.domain();
    EXPECT_EQ(a.domain_changed(), move == 2);
  }
  EXPECT_EQ(landed, (std::vector<std::string>{"bs5", "bs6", "bs1"}));
  EXPECT_EQ(s.tokens(), 0u);
  EXPECT_TRUE(IsRestricted(s, now + 3, Policy()));
  // Formed when the third move left it without tokens: bs5, bs6, bs7 are dead by then.
  EXPECT_EQ(Members(domain), (std::vector<std::string>{"bs1", "bs2", "bs3"}));

  // bs1 dies and bs8 joins: bs8 is the least loaded server, but only the
  // domain may take the segment.
  std::erase(alive, "bs1");
  alive.push_back("bs8");
  load["bs8"] = 0;
  load["bs4"] = 1;
  load["bs2"] = 3;
  SegmentAssigner a(alive, load, domain, Policy());
  a.RefreshDomain([&](const std::string& id) { return std::find(alive.begin(), alive.end(), id) == alive.end(); });
  EXPECT_EQ(Members(a.domain()), (std::vector<std::string>{"bs2", "bs3", "bs4"}));  // bs1 replaced by bs4
  ASSERT_TRUE(a.Move(&s, now + 4));
  EXPECT_EQ(s.owner_id(), "bs4");  // the least loaded member
  EXPECT_EQ(s.tokens(), 0u);       // nothing left to spend
  EXPECT_EQ(s.moves(), 4u);

  // Restricted, with no domain member alive: it stays, even though bs8 is free.
  FailureDomainRecord dead_domain;
  for (const char* id : {"bs2", "bs3", "bs4"}) dead_domain.add_members(id);
  SegmentAssigner stuck({"bs8"}, {}, dead_domain, Policy());
  SegmentRecord before = s;
  EXPECT_FALSE(stuck.Move(&s, now + 5));
  EXPECT_EQ(s.owner_id(), before.owner_id());

  // Thirty minutes later it has a token again and may go anywhere.
  SegmentAssigner later({"bs8"}, {}, dead_domain, Policy());
  ASSERT_TRUE(later.Move(&s, now + 4 + 30 * kMinuteUs));
  EXPECT_EQ(s.owner_id(), "bs8");
  EXPECT_EQ(s.tokens(), 0u);  // the refilled token was spent by this move
}

TEST(SegmentAssignmentTest, TheDomainFillsVacanciesWithTheLowestAliveIds) {
  FailureDomainRecord d;
  d.add_members("bs1");
  SegmentAssigner a({"bs9", "bs1", "bs3", "bs10"}, {}, d, Policy());
  a.RefreshDomain([](const std::string&) { return false; });
  EXPECT_EQ(Members(a.domain()), (std::vector<std::string>{"bs1", "bs3", "bs9"}));
  EXPECT_TRUE(a.domain_changed());
  // Not formed: nothing to refresh.
  SegmentAssigner b({"bs1", "bs2"}, {}, {}, Policy());
  b.RefreshDomain([](const std::string&) { return true; });
  EXPECT_EQ(b.domain().members_size(), 0);
  EXPECT_FALSE(b.domain_changed());
}

}  // namespace
}  // namespace strata::block::manager
