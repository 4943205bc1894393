// LeaderElection against real etcd processes. The fixture's short raft timers
// (election timeout 250 ms) put etcd's minimum lease TTL below 1 s, so the
// tests use 1 s and 2 s leases; every wait polls a condition up to a deadline.
#include "meta/leader_election.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "meta/leader_meta_store.h"
#include "meta/testing/etcd_cluster.h"

namespace strata::meta {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;
using testing::EtcdCluster;

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }


std::unique_ptr<EtcdMetaStore> OpenStore(std::vector<std::string> endpoints, int timeout_ms = 2000) {
  EtcdMetaStoreOptions o;
  o.endpoints = std::move(endpoints);
  o.key_prefix = "election_test/" + TestName() + "/";
  o.request_timeout_ms = timeout_ms;
  o.connect_timeout_ms = 200;
  auto r = EtcdMetaStore::Open(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

LeaderElectionOptions Options(std::string candidate, int ttl_seconds = 1) {
  LeaderElectionOptions o;
  o.key = "leader";
  o.candidate = std::move(candidate);
  o.lease_ttl_seconds = ttl_seconds;
  o.standby_poll_interval_ms = 20;
  return o;
}

std::unique_ptr<LeaderElection> Make(EtcdMetaStore* store, std::shared_ptr<Clock> clock, LeaderElectionOptions o,
                                     LeaderElection::OnChange on_change = {}) {
  auto r = LeaderElection::Create(store, std::move(clock), std::move(o), std::move(on_change));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : nullptr;
}

// Polls `cond` every 5 ms until it holds or `timeout` passes.
template <typename F>
bool WaitFor(F cond, milliseconds timeout = milliseconds(5000)) {
  auto deadline = steady_clock::now() + timeout;
  while (!cond()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

double SecondsSince(steady_clock::time_point t) {
  return std::chrono::duration<double>(steady_clock::now() - t).count();
}

TEST(EtcdLeaseTest, GrantKeepAliveRevokeAndLeasedPuts) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenStore(etcd->ClientUrls());
  EXPECT_EQ(store->GrantLease(0).status().code(), StatusCode::kInvalidArgument);
  auto lease = store->GrantLease(5);
  ASSERT_TRUE(lease.ok()) << lease.status().ToString();
  EXPECT_NE(lease->id, 0);
  EXPECT_EQ(lease->ttl_seconds, 5);
  auto ttl = store->KeepAliveLease(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 5);
  WriteBatch b;
  b.Put("leased", "v");
  ASSERT_TRUE(store->WriteIf({}, b, lease->id).ok());
  ASSERT_TRUE(store->Put("unleased", "v").ok());
  ASSERT_TRUE(store->RevokeLease(lease->id).ok());
  EXPECT_EQ(store->Get("leased").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store->Get("unleased"), "v");
  ttl = store->KeepAliveLease(lease->id);
  ASSERT_TRUE(ttl.ok()) << ttl.status().ToString();
  EXPECT_EQ(*ttl, 0);                               // the lease is gone
  EXPECT_TRUE(store->RevokeLease(lease->id).ok());  // already gone is fine
}

TEST(LeaderElectionTest, BadOptionsAreRejected) {
  auto store = OpenStore({"127.0.0.1:1"});
  ASSERT_NE(store, nullptr);
  auto clock = SystemClock::Default();
  auto code = [&](LeaderElectionOptions o) {
    return LeaderElection::Create(store.get(), clock, std::move(o)).status().code();
  };
  EXPECT_EQ(code(Options("a")), StatusCode::kOk);
  auto o = Options("a");
  o.key.clear();
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options("");
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options("a", 0);
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options("a", 2);
  o.keepalive_interval_ms = 2000;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options("a");
  o.standby_poll_interval_ms = 0;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  EXPECT_EQ(LeaderElection::Create(nullptr, clock, Options("a")).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LeaderElection::Create(store.get(), nullptr, Options("a")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(LeaderElectionTest, ExactlyOneOfTwoLeadsAndResignHandsOver) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store_a = OpenStore(etcd->ClientUrls());
  auto store_b = OpenStore(etcd->ClientUrls());
  auto clock = SystemClock::Default();
  // A long TTL: the hand-over below cannot come from an expiry.
  auto a = Make(store_a.get(), clock, Options("host-a:1", 10));
  auto b = Make(store_b.get(), clock, Options("host-b:1", 10));
  ASSERT_TRUE(a && b);
  a->Start();
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader() || b->IsLeader(); }));
  // Give the loser a few polls: it must stay a standby.
  for (int i = 0; i < 10; ++i) {
    ASSERT_FALSE(a->IsLeader() && b->IsLeader());
    std::this_thread::sleep_for(milliseconds(20));
  }
  LeaderElection* leader = a->IsLeader() ? a.get() : b.get();
  LeaderElection* standby = leader == a.get() ? b.get() : a.get();
  const std::string leader_name = leader == a.get() ? "host-a:1" : "host-b:1";
  EXPECT_FALSE(standby->IsLeader());
  EXPECT_EQ(standby->term(), 0);
  const int64_t first_term = leader->term();
  EXPECT_GT(first_term, 0);
  auto seen = standby->Leader();
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(*seen, leader_name);
  EXPECT_EQ(standby->WriteAsLeader(WriteBatch()).code(), StatusCode::kFailedPrecondition);

  auto resigned = steady_clock::now();
  ASSERT_TRUE(leader->Resign(/*hold_off_ms=*/60'000).ok());
  EXPECT_FALSE(leader->IsLeader());
  ASSERT_TRUE(WaitFor([&] { return standby->IsLeader(); }));
  EXPECT_LT(SecondsSince(resigned), 2.0);  // well under the 10 s TTL
  EXPECT_GT(standby->term(), first_term);
  EXPECT_FALSE(leader->IsLeader());
  EXPECT_EQ(*leader->Leader(), leader == a.get() ? "host-b:1" : "host-a:1");
  a->Stop();
  b->Stop();
}

// A LeaderMetaStore writes only in the term it was made for: after the
// candidate resigns and leads again (a new term), the old term's store is
// refused and nothing of it reaches etcd, while the new term's store writes.
TEST(LeaderElectionTest, LeaderMetaStoreWritesOnlyInItsTerm) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenStore(etcd->ClientUrls());
  auto e = Make(store.get(), SystemClock::Default(), Options("host-a:1", 10));
  ASSERT_TRUE(e);
  e->Start();
  ASSERT_TRUE(WaitFor([&] { return e->IsLeader(); }));
  LeaderMetaStore first(store.get(), e.get(), e->term());
  ASSERT_TRUE(first.Put("k", "1").ok());
  ASSERT_TRUE(e->Resign().ok());
  EXPECT_EQ(first.Put("k", "stale").code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(WaitFor([&] { return e->IsLeader(); }));
  ASSERT_NE(e->term(), first.term());
  EXPECT_EQ(first.Put("k", "stale").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(first.Delete("k").code(), StatusCode::kFailedPrecondition);
  LeaderMetaStore second(store.get(), e.get(), e->term());
  EXPECT_EQ(*second.Get("k"), "1");
  ASSERT_TRUE(second.Put("k", "2").ok());
  EXPECT_EQ(*store->Get("k"), "2");
  e->Stop();
}

TEST(LeaderElectionTest, FrozenLeaderIsFencedAfterItsLeaseExpires) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store_a = OpenStore(etcd->ClientUrls());
  auto store_b = OpenStore(etcd->ClientUrls());
  // A's clock does not move while it is frozen, so A itself still believes it
  // leads: only etcd's compare can stop its write.
  auto frozen_clock = std::make_shared<ManualClock>();
  auto a = Make(store_a.get(), frozen_clock, Options("host-a:1"));
  auto b = Make(store_b.get(), SystemClock::Default(), Options("host-b:1"));
  ASSERT_TRUE(a && b);
  auto started = steady_clock::now();  // A's lease is granted after this
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }));
  WriteBatch before;
  before.Put("owned", "by-a");
  ASSERT_TRUE(a->WriteAsLeader(before).ok());
  a->FreezeForTesting(true);
  b->Start();
  ASSERT_TRUE(WaitFor([&] { return b->IsLeader(); }));
  // Not before etcd expired A's 1 s lease (its expiry check runs every 0.5 s).
  EXPECT_GE(SecondsSince(started), 1.0);
  EXPECT_LT(SecondsSince(started), 4.0);
  EXPECT_EQ(*b->Leader(), "host-b:1");

  ASSERT_TRUE(a->IsLeader());
  WriteBatch stale;
  stale.Put("owned", "stale-write-of-a");
  stale.Put("new-key-of-a", "x");
  Status st = a->WriteAsLeader(stale);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("not the leader"), std::string::npos);
  EXPECT_FALSE(a->IsLeader());  // the failed compare steps it down
  EXPECT_EQ(store_a->Get("new-key-of-a").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*store_a->Get("owned"), "by-a");

  WriteBatch fresh;
  fresh.Put("owned", "by-b");
  ASSERT_TRUE(b->WriteAsLeader(fresh).ok());
  EXPECT_EQ(*store_a->Get("owned"), "by-b");
  a->Stop();
  b->Stop();
}

TEST(LeaderElectionTest, LeaderStepsDownWhenItsClockPassesTheTtl) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store = OpenStore(etcd->ClientUrls());
  auto clock = std::make_shared<ManualClock>();
  std::atomic<int> step_downs{0};
  auto a = Make(store.get(), clock, Options("host-a:1", 5), [&](bool leader, int64_t) {
    if (!leader) step_downs++;
  });
  ASSERT_NE(a, nullptr);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }));
  // Past the TTL in one jump, with no keepalive in between: the leader must
  // not trust a lease it could not renew.
  clock->Advance(6'000'000);
  EXPECT_FALSE(a->IsLeader());
  EXPECT_EQ(a->WriteAsLeader(WriteBatch()).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(WaitFor([&] { return step_downs.load() == 1; }));
  a->Stop();
}

TEST(LeaderElectionTest, KeepalivesHoldLeadershipPastTheTtl) {
  EtcdCluster* etcd = testing::SharedEtcdCluster();
  ASSERT_NE(etcd, nullptr);
  auto store_a = OpenStore(etcd->ClientUrls());
  auto store_b = OpenStore(etcd->ClientUrls());
  auto clock = SystemClock::Default();
  auto a = Make(store_a.get(), clock, Options("host-a:1"));
  auto b = Make(store_b.get(), clock, Options("host-b:1"));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }));
  const int64_t term = a->term();
  b->Start();
  // Three TTLs of 1 s: only keepalives keep the lease.
  auto until = steady_clock::now() + milliseconds(3000);
  while (steady_clock::now() < until) {
    ASSERT_TRUE(a->IsLeader());
    ASSERT_FALSE(b->IsLeader());
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(a->term(), term);
  a->Stop();
  b->Stop();
}

TEST(LeaderElectionTest, LeaderThatLosesEtcdStepsDownWithinTheTtl) {
  EtcdCluster etcd(1);
  ASSERT_TRUE(etcd.Start().ok());
  auto store = OpenStore(etcd.ClientUrls(), /*timeout_ms=*/300);
  auto a = Make(store.get(), SystemClock::Default(), Options("host-a:1", 2));
  ASSERT_NE(a, nullptr);
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }));
  etcd.Kill(0);
  auto killed = steady_clock::now();
  ASSERT_TRUE(WaitFor([&] { return !a->IsLeader(); }));
  EXPECT_LE(SecondsSince(killed), 2.0);
  EXPECT_FALSE(a->WriteAsLeader(WriteBatch()).ok());
  a->Stop();
}

TEST(LeaderElectionTest, LeaderKeepsLeadingWhenOneOfThreeMembersDies) {
  EtcdCluster etcd(3);
  ASSERT_TRUE(etcd.Start().ok());
  auto store_a = OpenStore(etcd.ClientUrls(), /*timeout_ms=*/1000);
  auto store_b = OpenStore(etcd.ClientUrls(), /*timeout_ms=*/1000);
  auto clock = SystemClock::Default();
  auto a = Make(store_a.get(), clock, Options("host-a:1", 2));
  auto b = Make(store_b.get(), clock, Options("host-b:1", 2));
  a->Start();
  ASSERT_TRUE(WaitFor([&] { return a->IsLeader(); }));
  b->Start();
  const int64_t term = a->term();
  etcd.Kill(0);  // the member both stores talk to first
  // Two TTLs of 2 s: the keepalives fail over to the other members.
  auto until = steady_clock::now() + milliseconds(4000);
  while (steady_clock::now() < until) {
    ASSERT_TRUE(a->IsLeader());
    ASSERT_FALSE(b->IsLeader());
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(a->term(), term);
  WriteBatch w;
  w.Put("k", "v");
  EXPECT_TRUE(a->WriteAsLeader(w).ok());
  a->Stop();
  ASSERT_TRUE(WaitFor([&] { return b->IsLeader(); }));
  b->Stop();
}

}  // namespace
}  // namespace strata::meta
