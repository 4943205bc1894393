// LeaseRenewer on a real RPC server that answers as a master would, with a
// ManualClock: renewals happen when the clock says so, carry the writer's
// path and epoch, stop when the master says the lease is gone, and Stop()
// returns at once whatever the clock.
#include "dfs/client/lease_renewer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "common/metrics.h"
#include "master.pb.h"
#include "rpc/server.h"

namespace strata::dfs {
namespace {

class LeaseRenewerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    master_.RegisterTyped<RenewLeaseRequest, RenewLeaseResponse>(
        MASTER_RENEW_LEASE, "renew_lease",
        [this](const RenewLeaseRequest& req, std::string&, RenewLeaseResponse*, std::string*) {
          std::lock_guard lock(mu_);
          renewals_++;
          last_path_ = req.path();
          last_epoch_ = req.writer_epoch();
          return answer_;
        });
    auto port = master_.Start();
    ASSERT_TRUE(port.ok());
    addr_ = "127.0.0.1:" + std::to_string(*port);
    masters_ = std::make_unique<rpc::LeaderEndpoints>(addr_);
  }
  void TearDown() override { master_.Stop(); }

  int renewals() {
    std::lock_guard lock(mu_);
    return renewals_;
  }
  // Polls until `n` renewals were served, for at most 10 s of real time.
  bool RenewalsReach(int n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (renewals() < n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  MetricsRegistry metrics_;
  rpc::RpcServer master_{rpc::RpcServerOptions{}, &metrics_};
  rpc::RpcClient rpc_;
  ManualClock clock_;
  std::string addr_;
  std::unique_ptr<rpc::LeaderEndpoints> masters_;
  std::mutex mu_;
  int renewals_ = 0;
  std::string last_path_;
  uint64_t last_epoch_ = 0;
  Status answer_;
};

TEST_F(LeaseRenewerTest, RenewsOncePerIntervalOfItsClock) {
  LeaseRenewer renewer(&rpc_, &clock_, masters_.get(), "/f", 42, std::chrono::milliseconds(1000));
  // Real time passes, the clock does not: no renewal.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(renewals(), 0);
  clock_.Advance(1000 * 1000);
  ASSERT_TRUE(RenewalsReach(1));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(last_path_, "/f");
    EXPECT_EQ(last_epoch_, 42u);
  }
  clock_.Advance(1000 * 1000);
  ASSERT_TRUE(RenewalsReach(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(renewals(), 2);
}

TEST_F(LeaseRenewerTest, StopReturnsAtOnceWhileItWaitsForItsClock) {
  auto renewer = std::make_unique<LeaseRenewer>(&rpc_, &clock_, masters_.get(), "/f", 1, std::chrono::hours(1));
  auto start = std::chrono::steady_clock::now();
  renewer->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(renewals(), 0);
}

TEST_F(LeaseRenewerTest, AFencedWriterStopsRenewing) {
  {
    std::lock_guard lock(mu_);
    answer_ = Status::StaleEpoch("a newer writer owns /f");
  }
  LeaseRenewer renewer(&rpc_, &clock_, masters_.get(), "/f", 1, std::chrono::milliseconds(100));
  clock_.Advance(100 * 1000);
  ASSERT_TRUE(RenewalsReach(1));
  // The renewer gave up: later rounds send nothing.
  for (int i = 0; i < 5; ++i) clock_.Advance(100 * 1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(renewals(), 1);
}

}  // namespace
}  // namespace strata::dfs
