#include "dfs/master/placement.h"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace strata::dfs::master {
namespace {

constexpr uint64_t kHeadroomBuckets = 20;  // 5 % steps

bool DiskUsable(const DiskView& d, uint64_t bytes_needed, uint64_t reserve) {
  return !d.failed && d.free_bytes >= bytes_needed + reserve;
}

uint64_t HeadroomBucket(uint64_t free_bytes, uint64_t capacity_bytes) {
  if (capacity_bytes == 0) return 0;
  double ratio = static_cast<double>(free_bytes) / static_cast<double>(capacity_bytes);
  return static_cast<uint64_t>(std::min(1.0, ratio) * kHeadroomBuckets);
}

struct Ranked {
  const ServerView* server;
  uint32_t disk;
  uint64_t headroom;
  bool stalled;  // its chosen disk is stalled
};

// Smaller sorts first: not stalled, more headroom, less load, fewer
// replicas, lower id.
bool RankBefore(const Ranked& a, const Ranked& b) {
  if (a.stalled != b.stalled) return !a.stalled;
  if (a.headroom != b.headroom) return a.headroom > b.headroom;
  if (a.server->load != b.server->load) return a.server->load < b.server->load;
  if (a.server->replicas != b.server->replicas) return a.server->replicas < b.server->replicas;
  return a.server->id < b.server->id;
}

std::vector<Ranked> RankServers(const std::vector<ServerView>& servers, const PlacementRequest& req) {
  std::vector<Ranked> ranked;
  for (const auto& s : servers) {
    if (req.exclude_servers.count(s.id)) continue;
    auto disk = ChooseDisk(s, req.bytes_needed, req.disk_free_min_bytes);
    if (!disk.ok()) continue;
    uint64_t free = 0, capacity = 0;
    for (const auto& d : s.disks) {
      if (d.failed) continue;
      free += d.free_bytes;
      capacity += d.capacity_bytes;
    }
    bool stalled = false;
    for (const auto& d : s.disks) {
      if (d.index == *disk) stalled = d.stalled;
    }
    ranked.push_back({&s, *disk, HeadroomBucket(free, capacity), stalled});
  }
  std::sort(ranked.begin(), ranked.end(), RankBefore);
  return ranked;
}

}  // namespace

Result<uint32_t> ChooseDisk(const ServerView& server, uint64_t bytes_needed, uint64_t disk_free_min_bytes) {
  const DiskView* best = nullptr;
  for (const auto& d : server.disks) {
    if (!DiskUsable(d, bytes_needed, disk_free_min_bytes)) continue;
    if (!best) {
      best = &d;
      continue;
    }
    auto key = [](const DiskView* x) {
      return std::make_tuple(x->stalled, kHeadroomBuckets - HeadroomBucket(x->free_bytes, x->capacity_bytes),
                             x->replicas, x->index);
    };
    if (key(&d) < key(best)) best = &d;
  }
  if (!best) return Status::NotFound("chunkserver " + server.id + " has no usable disk");
  return best->index;
}

Result<std::vector<PlacementChoice>> PlaceReplicas(const std::vector<ServerView>& servers,
                                                   const PlacementRequest& req) {
  std::vector<Ranked> ranked = RankServers(servers, req);
  std::vector<PlacementChoice> out;
  std::set<std::string> racks = req.avoid_racks;
  std::vector<bool> taken(ranked.size(), false);
  for (size_t i = 0; i < ranked.size() && out.size() < req.replicas; ++i) {
    if (!racks.insert(ranked[i].server->rack).second) continue;
    out.push_back({ranked[i].server->id, ranked[i].server->rack, ranked[i].disk});
    taken[i] = true;
  }
  for (size_t i = 0; req.allow_rack_reuse && i < ranked.size() && out.size() < req.replicas; ++i) {
    if (taken[i]) continue;
    out.push_back({ranked[i].server->id, ranked[i].server->rack, ranked[i].disk});
  }
  if (out.size() < req.replicas) {
    if (req.replicas > servers.size()) {
      // Not a passing state: waiting will not help until servers are added.
      return Status::FailedPrecondition(fmt::format("cannot place {} replica(s): the cluster has {} chunkserver(s)",
                                                    req.replicas, servers.size()));
    }
    std::set<std::string> eligible_racks;
    for (const auto& r : ranked) eligible_racks.insert(r.server->rack);
    return Status::Unavailable(fmt::format(
        "cannot place {} replica(s) of {} bytes{} now: {} chunkserver(s) in {} rack(s) can take one "
        "({} known, {} excluded, {} rack(s) already used)",
        req.replicas, req.bytes_needed, req.allow_rack_reuse ? "" : " in distinct racks", ranked.size(),
        eligible_racks.size(), servers.size(), req.exclude_servers.size(), req.avoid_racks.size()));
  }
  return out;
}

}  // namespace strata::dfs::master
