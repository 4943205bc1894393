#include "dfs/client/replica_order.h"

#include <gtest/gtest.h>

namespace strata::dfs {
namespace {

ChunkInfo Chunk(uint64_t id, std::vector<bool> slow) {
  ChunkInfo c;
  c.set_chunk_id(id);
  for (size_t i = 0; i < slow.size(); ++i) {
    ReplicaLocation* r = c.add_replicas();
    r->set_server_id("cs" + std::to_string(i));
    r->set_slow(slow[i]);
  }
  return c;
}

TEST(ReplicaOrderTest, RotatesByChunkIdWhenNothingIsSlow) {
  EXPECT_EQ(ReplicaReadOrder(Chunk(0, {false, false, false})), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(ReplicaReadOrder(Chunk(7, {false, false, false})), (std::vector<int>{1, 2, 0}));
  EXPECT_TRUE(ReplicaReadOrder(Chunk(7, {})).empty());
}

TEST(ReplicaOrderTest, SlowReplicasGoLastButStay) {
  EXPECT_EQ(ReplicaReadOrder(Chunk(7, {false, true, false})), (std::vector<int>{2, 0, 1}));
  EXPECT_EQ(ReplicaReadOrder(Chunk(6, {true, false, true})), (std::vector<int>{1, 0, 2}));
  EXPECT_EQ(ReplicaReadOrder(Chunk(5, {true, true, true})), (std::vector<int>{2, 0, 1}));
}

}  // namespace
}  // namespace strata::dfs
