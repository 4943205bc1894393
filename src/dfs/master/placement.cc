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

// The class a server is drawn in; smaller is better: not stalled, more
// headroom, less load.
std::tuple<bool, uint64_t, uint32_t> Class(const Ranked& r) {
  return {r.stalled, kHeadroomBuckets - r.headroom, r.server->load};
}

std::vector<Ranked> EligibleServers(const std::vector<ServerView>& servers, const PlacementRequest& req) {
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
  // Input order must not matter: draws index this order.
  std::sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) { return a.server->id < b.server->id; });
  return ranked;
}

// Draws one of the servers `usable` accepts: from the best class, two at
// random, the one with fewer replicas. -1 when none is usable.
template <typename Usable>
int Draw(const std::vector<Ranked>& ranked, Usable usable, Random* random) {
  std::vector<int> pool;
  for (int i = 0; i < static_cast<int>(ranked.size()); ++i) {
    if (!usable(i)) continue;
    if (!pool.empty() && Class(ranked[i]) > Class(ranked[pool[0]])) continue;
    if (!pool.empty() && Class(ranked[i]) < Class(ranked[pool[0]])) pool.clear();
    pool.push_back(i);
  }
  if (pool.empty()) return -1;
  const uint64_t n = pool.size();
  const uint64_t a = random->Uniform(n);
  const uint64_t b = n == 1 ? a : (a + 1 + random->Uniform(n - 1)) % n;
  return ranked[pool[b]].server->replicas < ranked[pool[a]].server->replicas ? pool[b] : pool[a];
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
                                                   const PlacementRequest& req, Random* random) {
  std::vector<Ranked> ranked = EligibleServers(servers, req);
  std::vector<PlacementChoice> out;
  std::set<std::string> racks = req.avoid_racks;
  std::vector<bool> taken(ranked.size(), false);
  auto take = [&](int i) {
    taken[i] = true;
    racks.insert(ranked[i].server->rack);
    out.push_back({ranked[i].server->id, ranked[i].server->rack, ranked[i].disk});
  };
  while (out.size() < req.replicas) {
    int i = Draw(ranked, [&](int j) { return !taken[j] && !racks.count(ranked[j].server->rack); }, random);
    if (i < 0) break;
    take(i);
  }
  while (req.allow_rack_reuse && out.size() < req.replicas) {
    int i = Draw(ranked, [&](int j) { return !taken[j]; }, random);
    if (i < 0) break;
    take(i);
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
