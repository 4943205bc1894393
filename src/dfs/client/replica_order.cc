#include "dfs/client/replica_order.h"

#include <algorithm>
#include <cstdint>

namespace strata::dfs {

std::vector<int> ReplicaReadOrder(const ChunkInfo& chunk) {
  const auto n = static_cast<uint64_t>(chunk.replicas_size());
  std::vector<int> order;
  order.reserve(n);
  for (uint64_t i = 0; i < n; ++i) order.push_back(static_cast<int>((chunk.chunk_id() + i) % n));
  std::stable_partition(order.begin(), order.end(), [&](int i) { return !chunk.replicas(i).slow(); });
  return order;
}

}  // namespace strata::dfs
