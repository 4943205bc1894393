// Balancer: which replicas move to even out the cluster. Placement only
// steers new chunks; after a recovery (one server of a rack may then hold
// every replica of that rack), a server added to the cluster, or deletes
// that emptied some servers more than others, replicas must move.
//
// Servers are compared by two measures, disk use first:
//   - disk use: used / capacity over the server's usable disks. When the
//     fullest server's use exceeds the emptiest's by more than
//     `balance_disk_use_spread_max`, a replica moves from the fullest to the
//     emptiest that can take one;
//   - replica count: otherwise, when the fullest server holds more than
//     max(`balance_replicas_spread_min`, `balance_replicas_spread_fraction` x
//     the mean) replicas more than the emptiest, a replica moves between them,
//     unless the target would end more than half `balance_disk_use_spread_max`
//     fuller than the source (counts never undo disk use's balance).
// Sources are tried fullest first, targets emptiest first, while the pair
// still differs by more than the spread. A target must keep the chunk's rack
// spread: it is in the source's rack, or in a rack none of the chunk's other
// replicas is in (the caller's FindMovableChunk decides, and also that the
// chunk is fully replicated and not being copied). Each planned move updates
// the views (counts and free bytes) as if done, so one pass plans several
// moves without overshooting.
//
// A move is a copy (recovery.h: the same copy limits, budget, timeouts and
// polls) followed, once the new replica is reported, by dropping the
// source's replica (MasterService::FinishMove): never before.
//
// Thread-safety: a pure function over values.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dfs/master/master_options.h"
#include "dfs/master/placement.h"

namespace strata::dfs::master {

struct BalanceMove {
  uint64_t chunk_id = 0;
  uint64_t bytes = 0;
  std::string source;
  std::string target;
  uint32_t target_disk = 0;
};

struct MovableChunk {
  uint64_t chunk_id = 0;
  uint64_t bytes = 0;
};

// A chunk on `source` that may move to `target`, or nullopt.
using FindMovableChunk = std::function<std::optional<MovableChunk>(const ServerView& source, const ServerView& target)>;

// Up to `moves_max` moves that even out `views` (alive servers in service).
std::vector<BalanceMove> PlanMoves(std::vector<ServerView> views, const MasterOptions& options, size_t moves_max,
                                   const FindMovableChunk& find);

// The used fraction of a server's usable disks' capacity (0 without any).
double DiskUse(const ServerView& server);

}  // namespace strata::dfs::master
