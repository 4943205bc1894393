// ReplicaReadOrder: the order in which a reader tries the replicas of a
// chunk.
//
// The start rotates by chunk id so that readers of different chunks spread
// over the servers; replicas the master marks slow (ReplicaLocation.slow:
// on a slow disk or chunkserver, see src/dfs/master/slow_server.h) are then
// moved behind the others, keeping their relative order. Every replica stays
// in the order, so when the fast ones fail the read still fails over to a
// slow one rather than fail.
//
// Thread-safety: a pure function.
#pragma once

#include <vector>

#include "dfs_common.pb.h"

namespace strata::dfs {

// Indexes into chunk.replicas(), in the order to try them.
std::vector<int> ReplicaReadOrder(const ChunkInfo& chunk);

}  // namespace strata::dfs
