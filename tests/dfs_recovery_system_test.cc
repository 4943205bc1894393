// System tests of re-replication against a real cluster from `strata up`:
// how soon a dead chunkserver's replicas are back, and where they go.
#include <signal.h>

#include <string>

#include <gtest/gtest.h>

#include "testing/cluster.h"

namespace strata::testing {
namespace {

using namespace std::chrono_literals;

class DfsRecoverySystemTest : public ::testing::Test {
 protected:
  std::string Tmp(const std::string& name) { return scratch_.Path(name); }
  ScratchDir scratch_{"strata_recoverytest"};
};

// 400 chunks of 64 KiB; the SIGKILLed chunkserver held about 200 replicas.
// Recovery is bounded by its byte budget (100 MB/s) and per-server copy
// limits, so they are back long before the deadline; paced at one copy per
// heartbeat or poll per slot (about 1.5 copies a second) they would take
// over two minutes.
TEST_F(DfsRecoverySystemTest, ADeadServersSmallChunksAreBackWithinSeconds) {
  TestCluster c;
  ASSERT_FALSE(c.info().is_null());
  std::string src = Tmp("src");
  WriteRandomFile(src, 400ull * 64 * 1024, 21);
  auto put = c.Cli({"fs", "put", "--chunk-size", "64K", src, "/small"});
  ASSERT_EQ(put.exit_code, 0) << put.err;
  ASSERT_TRUE(ChunksFullyReplicated(c.StatJson("/small"), 3));
  const std::string victim = c.chunkserver_id(0);
  auto on_victim = [&](const nlohmann::json& r) { return r["server_id"] == victim; };
  size_t held = 0;
  const auto stat = c.StatJson("/small");
  for (const auto& ch : stat["chunk_list"]) {
    for (const auto& r : ch["replicas"]) held += on_victim(r);
  }
  ASSERT_GT(held, 100u);
  c.Kill(c.chunkserver_pid(0), SIGKILL);
  EXPECT_TRUE(WaitFor([&] {
    auto s = c.ClusterStatusJson();
    return !s.is_null() && !s.is_discarded() && s["totals"]["alive"] == 5 && s["chunks"]["under_replicated"] == 0 &&
           ChunksFullyReplicated(c.StatJson("/small"), 3, on_victim);
  }, 45s)) << c.ClusterStatusJson()["recovery"].dump(1);
}

}  // namespace
}  // namespace strata::testing
