// Placement: where the replicas of a new chunk (or a recovery copy) go.
//
// Servers are compared by a class and, within the best class, drawn at
// random, so that chunks spread over every server of a rack and over many
// replica sets rather than a few fixed triples (a chunk's replicas then
// recover from, and to, many servers at once). The class, best first:
//   1. not stalled (its chosen disk's writes are not stalling);
//   2. free-space headroom, in 5 % buckets of the usable disks' capacity
//      (more first), so a nearly full server stops receiving chunks long
//      before it fills, while similar servers compare equal;
//   3. load: chunks open for writing plus recovery copies in flight (less
//      first), which spreads concurrent allocations across servers.
// Within the class, two servers are drawn and the one holding fewer replicas
// wins ("the power of two choices": Mitzenmacher, 2001), which keeps replica
// counts within a small bound of each other while every server gets chunks.
// Replicas are taken one at a time that way, at most one per rack (racks in
// `avoid_racks` count as used). When fewer racks than replicas have an
// eligible server, `allow_rack_reuse` fills the rest from the remaining
// servers (distinct servers always); otherwise the placement fails with
// Unavailable naming what was missing. A server is eligible when it is not
// excluded and has a disk that is not failed and has at least `bytes_needed +
// disk_free_min_bytes` free; within a server the disk is chosen by a fixed
// rule (not stalled, headroom bucket, replicas held, index).
//
// The draws come from the caller's seeded Random: for a given seed and
// cluster state the placement is the same (tests seed it).
//
// Thread-safety: functions over values; the Random is the caller's and is
// not thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "common/result.h"
#include "env/random.h"

namespace strata::dfs::master {

struct DiskView {
  uint32_t index = 0;
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  bool failed = false;
  uint32_t replicas = 0;
  // Its last reported write p99 reached kStalledDiskP99Us (a hung disk's
  // running probe counts as a write that long): placed on only when no
  // other disk will do, long before the fail-slow detector or the hang
  // timeout takes it out of service.
  bool stalled = false;
};

inline constexpr uint64_t kStalledDiskP99Us = 1'000'000;

struct ServerView {
  std::string id;
  std::string rack;
  std::vector<DiskView> disks;
  uint32_t load = 0;
  uint32_t replicas = 0;
};

struct PlacementRequest {
  uint32_t replicas = 3;
  uint64_t bytes_needed = 0;
  uint64_t disk_free_min_bytes = 0;
  std::set<std::string> exclude_servers;
  std::set<std::string> avoid_racks;
  bool allow_rack_reuse = false;
};

struct PlacementChoice {
  std::string server_id;
  std::string rack;
  uint32_t disk = 0;
};

// Best eligible disk of `server`, or NotFound.
Result<uint32_t> ChooseDisk(const ServerView& server, uint64_t bytes_needed, uint64_t disk_free_min_bytes);

Result<std::vector<PlacementChoice>> PlaceReplicas(const std::vector<ServerView>& servers,
                                                   const PlacementRequest& request, Random* random);

}  // namespace strata::dfs::master
