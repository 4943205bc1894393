// The master's startup grace period: right after a (re)start, allocations
// wait for known chunkservers that have not registered again, and those
// servers are not taken for dead, so nothing is re-replicated on their
// account. An allocation that waits runs on a thread of its own here, as on
// an RPC worker; the test thread registers servers and moves the clock.
#include <chrono>
#include <future>
#include <thread>

#include "dfs/master/master_test_fixture.h"

namespace strata::dfs::master {
namespace {

using namespace std::chrono_literals;

class MasterStartupTest : public MasterServiceTest {
 protected:
  void SetUp() override {
    MasterServiceTest::SetUp();
    options_.startup_grace_ms = 10000;
  }
  // cs1..cs3 in racks r1..r3 are known, the master restarts, and only cs1
  // and cs2 register again.
  void RestartWithOneServerLate() {
    AddServer("cs1", "r1");
    AddServer("cs2", "r2");
    AddServer("cs3", "r3");
    Restart(&memory_);
    AddServer("cs1", "r1");
    AddServer("cs2", "r2");
  }
  std::future<Result<ChunkInfo>> AllocateAsync(const std::string& path, uint64_t epoch,
                                               uint32_t caller_timeout_ms = 0) {
    return std::async(std::launch::async, [this, path, epoch, caller_timeout_ms]() -> Result<ChunkInfo> {
      AllocateChunkRequest req;
      req.set_path(path);
      req.set_writer_epoch(epoch);
      AllocateChunkResponse resp;
      RETURN_IF_ERROR(service_->AllocateChunk(req, &resp, caller_timeout_ms));
      return resp.chunk();
    });
  }
  // Polls until `n` allocations wait for registrations (5 s of real time).
  bool WaitersReach(double n) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (GaugeValue("strata_master_allocations_waiting") != n) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }
  std::string StateOf(const std::string& id) {
    const nlohmann::json status = service_->StatusJson();
    for (const auto& s : status["chunkservers"]) {
      if (s["id"] == id) return s["state"].get<std::string>();
    }
    return "";
  }
};

TEST_F(MasterStartupTest, AnAllocationWaitsForAChunkserverThatRegistersLate) {
  RestartWithOneServerLate();
  uint64_t epoch = OpenFile("/f");
  auto allocation = AllocateAsync("/f", epoch);
  ASSERT_TRUE(WaitersReach(1));
  EXPECT_EQ(allocation.wait_for(0s), std::future_status::timeout);
  AddServer("cs3", "r3");
  ASSERT_EQ(allocation.wait_for(5s), std::future_status::ready);
  auto chunk = allocation.get();
  ASSERT_TRUE(chunk.ok()) << chunk.status().ToString();
  EXPECT_EQ(ReplicaIds(*chunk), (std::vector<std::string>{"cs1", "cs2", "cs3"}));
  EXPECT_EQ(GaugeValue("strata_master_allocations_waiting"), 0);
}

// A wait ends at half the caller's timeout: the writer hears Unavailable
// while it still listens, and retries.
TEST_F(MasterStartupTest, AWaitEndsInTimeForItsCallerWithUnavailable) {
  RestartWithOneServerLate();
  uint64_t epoch = OpenFile("/f");
  auto allocation = AllocateAsync("/f", epoch, /*caller_timeout_ms=*/2000);
  ASSERT_TRUE(WaitersReach(1));
  clock_.Advance(1100 * 1000);
  ASSERT_EQ(allocation.wait_for(5s), std::future_status::ready);
  auto chunk = allocation.get();
  EXPECT_EQ(chunk.status().code(), StatusCode::kUnavailable) << chunk.status().ToString();
  EXPECT_NE(chunk.status().message().find("have not registered"), std::string::npos) << chunk.status().ToString();
  EXPECT_NE(chunk.status().message().find("waited 1100 ms"), std::string::npos) << chunk.status().ToString();
}

// Waits are bounded: beyond startup_allocations_waiting_max an allocation
// is told to retry at once, and StopWaiting (a master shutting down) ends
// the waits.
TEST_F(MasterStartupTest, WaitsAreBoundedAndEndWhenTheMasterStops) {
  options_.startup_allocations_waiting_max = 1;
  RestartWithOneServerLate();
  uint64_t f = OpenFile("/f"), g = OpenFile("/g");
  auto first = AllocateAsync("/f", f);
  ASSERT_TRUE(WaitersReach(1));
  auto second = AllocateAsync("/g", g);
  ASSERT_EQ(second.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(second.get().status().code(), StatusCode::kUnavailable);
  service_->StopWaiting();
  ASSERT_EQ(first.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(first.get().status().code(), StatusCode::kUnavailable);
}

// Once the grace period is over, a server still missing is declared dead
// and the error is the plain one again, at once.
TEST_F(MasterStartupTest, AfterTheGracePeriodTheClearErrorStands) {
  options_.startup_grace_ms = 5000;  // chunkserver_dead_after_ms is 3000
  RestartWithOneServerLate();
  Pass(4000, {"cs1", "cs2"});
  EXPECT_EQ(StateOf("cs3"), "unknown");  // past the dead timeout, within the grace
  Pass(2000, {"cs1", "cs2"});
  EXPECT_EQ(StateOf("cs3"), "dead");
  uint64_t epoch = OpenFile("/f");
  auto allocation = AllocateAsync("/f", epoch);
  ASSERT_EQ(allocation.wait_for(5s), std::future_status::ready);
  auto chunk = allocation.get();
  EXPECT_EQ(chunk.status().code(), StatusCode::kFailedPrecondition) << chunk.status().ToString();
  EXPECT_EQ(chunk.status().message(), "cannot place 3 replica(s): the cluster has 2 chunkserver(s)");
}

// A chunkserver that reports late after a restart is not lost: none of its
// replicas is copied, nothing shows as under-replicated, and when it comes
// back everything is as before.
TEST_F(MasterStartupTest, AChunkserverLateAfterARestartStartsNoRecovery) {
  AddCluster();
  auto chunks = WriteFile("/f", 4, 1000);
  Restart(&memory_);
  for (const auto& [id, rack] : {std::pair{"cs1", "r1"}, {"cs2", "r2"}, {"cs4", "r1"}}) AddServer(id, rack);
  Pass(6000, {"cs1", "cs2", "cs4"});  // twice chunkserver_dead_after_ms
  EXPECT_EQ(StateOf("cs3"), "unknown");
  EXPECT_TRUE(replicates_.empty());
  EXPECT_EQ(GaugeValue("strata_master_chunks_under_replicated"), 0);
  EXPECT_EQ(CounterValue("strata_master_chunkservers_died_total"), 0u);
  AddServer("cs3", "r3");
  Pass(2000, {"cs1", "cs2", "cs3", "cs4"});
  EXPECT_TRUE(replicates_.empty());
  EXPECT_EQ(GaugeValue("strata_master_chunks_under_replicated"), 0);
  StatResponse stat = StatOf("/f");
  ASSERT_EQ(stat.chunks_size(), static_cast<int>(chunks.size()));
  for (const auto& c : stat.chunks()) EXPECT_EQ(c.replicas_size(), 3);
}

}  // namespace
}  // namespace strata::dfs::master
