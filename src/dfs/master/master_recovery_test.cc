// Recovery's pace: re-replication is bounded by the byte budget and the
// per-server copy limits, not by ticks or heartbeat intervals. The clock
// stands still in these tests unless a test moves it.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dfs/master/master_test_fixture.h"

namespace strata::dfs::master {
namespace {

class MasterRecoveryTest : public MasterServiceTest {
 protected:
  // Six servers in three racks (cs1 and cs4 share r1), `chunks` sealed
  // chunks of `length` bytes, then cs1 dies: every chunk it held must be
  // copied to cs4, the only other server of its rack. Returns the REPLICATE
  // commands cs4 has been handed so far.
  std::vector<ChunkCommand> KillCs1(int chunks, uint64_t length) {
    for (const auto& [id, rack] : std::vector<std::pair<std::string, std::string>>{
             {"cs1", "r1"}, {"cs2", "r2"}, {"cs3", "r3"}, {"cs4", "r1"}, {"cs5", "r2"}, {"cs6", "r3"}}) {
      AddServer(id, rack);
    }
    for (const auto& c : WriteFile("/f", chunks, length)) {
      auto ids = ReplicaIds(c);
      held_ += std::count(ids.begin(), ids.end(), "cs1");
    }
    Pass(1000, {"cs1", "cs2", "cs3", "cs4", "cs5", "cs6"});
    Pass(4000, {"cs2", "cs3", "cs4", "cs5", "cs6"});
    std::vector<ChunkCommand> out;
    for (const auto& [id, cmd] : replicates_) {
      EXPECT_EQ(id, "cs4");
      out.push_back(cmd);
    }
    for (const auto& cmd : Commands(Beat("cs4"), ChunkCommand::REPLICATE)) out.push_back(cmd);
    return out;
  }
  // cs4 reports its copies one at a time, each as it lands (as a chunkserver
  // does), and runs the copies each reply hands it; the clock does not move.
  // Returns how many copies landed; `most_in_flight` is the largest number
  // cs4 held at once.
  int RunCopiesOnCs4(std::vector<ChunkCommand> pending, size_t* most_in_flight) {
    int landed = 0;
    *most_in_flight = pending.size();
    while (!pending.empty() && landed < 10 * held_ + 10) {
      ChunkCommand cmd = pending.front();
      pending.erase(pending.begin());
      auto resp = Beat("cs4", {Rep(cmd.chunk_id(), cmd.length(), true, cmd.target_disk())});
      landed++;
      for (const auto& next : Commands(resp, ChunkCommand::REPLICATE)) pending.push_back(next);
      *most_in_flight = std::max(*most_in_flight, pending.size());
    }
    return landed;
  }
  int held_ = 0;
};

// 40 chunks on a dead server come back without a single tick or heartbeat
// interval passing: each landed copy's report is answered with the next
// copy, and cs4 never holds more than its copy limit.
TEST_F(MasterRecoveryTest, EachLandedCopyIsAnsweredWithTheNextWithoutWaitingForATick) {
  options_.recovery_copies_per_server_max = 2;
  Restart(&memory_);
  auto first = KillCs1(40, 1 << 20);
  ASSERT_GT(held_, 10);
  ASSERT_FALSE(first.empty());
  size_t most_in_flight = 0;
  EXPECT_EQ(RunCopiesOnCs4(first, &most_in_flight), held_);
  EXPECT_LE(most_in_flight, 2u);
  EXPECT_EQ(service_->StatusJson()["chunks"]["under_replicated"], 0);
  EXPECT_EQ(service_->StatusJson()["recovery"]["done"].get<int>(), held_);
  const StatResponse st = StatOf("/f");
  for (const auto& c : st.chunks()) EXPECT_EQ(c.replicas_size(), 3) << c.chunk_id();
}

// The byte budget is what stops copies while the clock stands still: with
// 8 MiB/s and 1 MiB chunks about 8 copies start, then the rest wait for time
// to pass, and each second of it lets about 8 more through.
TEST_F(MasterRecoveryTest, TheByteBudgetBoundsCopiesWhenTimeStandsStill) {
  options_.recovery_copies_per_server_max = 2;
  options_.recovery_bytes_per_sec_max = 8 << 20;
  options_.recovery_bytes_per_sec_min = 8 << 20;
  Restart(&memory_);
  auto first = KillCs1(60, 1 << 20);
  ASSERT_GT(held_, 20);
  size_t most_in_flight = 0;
  int landed = RunCopiesOnCs4(first, &most_in_flight);
  EXPECT_GE(landed, 4);
  EXPECT_LE(landed, 12);
  EXPECT_GT(service_->StatusJson()["chunks"]["under_replicated"].get<int>(), 0);
  clock_.Advance(1'000'000);
  service_->Tick();
  int more = RunCopiesOnCs4(Commands(Beat("cs4"), ChunkCommand::REPLICATE), &most_in_flight);
  EXPECT_GE(more, 4);
  EXPECT_LE(more, 12);
  EXPECT_LE(most_in_flight, 2u);
}

}  // namespace
}  // namespace strata::dfs::master
