// The simulation itself: its runs pass, repeat exactly for a seed, and its
// oracle sees a loss when one is planted.
#include "dfs/sim/dfs_simulation.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace strata::dfs::sim {
namespace {

class DfsSimulationTest : public ::testing::Test {
 protected:
  void SetUp() override { spdlog::set_level(spdlog::level::off); }
  void TearDown() override { spdlog::set_level(spdlog::level::info); }
};

TEST_F(DfsSimulationTest, ASeedRunsTheSameTwice) {
  DfsSimulationOptions o;
  o.seed = 7;
  const auto a = RunDfsSimulation(o);
  const auto b = RunDfsSimulation(o);
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_EQ(a.steps, b.steps);
  o.seed = 8;
  EXPECT_NE(RunDfsSimulation(o).trace, a.trace);
}

TEST_F(DfsSimulationTest, RunsInjectFaultsWriteDataAndHeal) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    DfsSimulationOptions o;
    o.seed = seed;
    const auto r = RunDfsSimulation(o);
    EXPECT_TRUE(r.ok) << "seed " << seed << ": " << r.failure;
    EXPECT_GT(r.faults, 5u) << seed;
    EXPECT_GT(r.acknowledged_chunks, 20u) << seed;
    EXPECT_GT(r.steps, o.fault_steps) << seed;
  }
}

TEST_F(DfsSimulationTest, TheOracleSeesAPlantedLoss) {
  DfsSimulationOptions o;
  o.seed = 3;
  o.plant_lost_chunk = true;
  const auto r = RunDfsSimulation(o);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.failure.find("has no copy left"), std::string::npos) << r.failure;
}

TEST_F(DfsSimulationTest, WithoutFaultsTheClusterIsWholeRightAway) {
  DfsSimulationOptions o;
  o.seed = 11;
  o.fault_probability = 0;
  const auto r = RunDfsSimulation(o);
  EXPECT_TRUE(r.ok) << r.failure;
  EXPECT_EQ(r.faults, 0u);
  EXPECT_LE(r.steps, o.fault_steps + 30);
}

}  // namespace
}  // namespace strata::dfs::sim
