#include "dfs/master/balancer.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace strata::dfs::master {
namespace {

// One measure of how full a server is, and the spread it tolerates.
struct Measure {
  std::function<double(const ServerView&)> of;
  double spread = 0;
  // By count, a move must not undo disk use's balance: the target may end
  // at most this much fuller than the source.
  double disk_use_gap_max = 1.0;
};

// The measure to balance by now, or nullopt when the cluster is even.
std::optional<Measure> PickMeasure(const std::vector<ServerView>& views, const MasterOptions& o) {
  if (views.size() < 2) return std::nullopt;
  auto [lo, hi] = std::minmax_element(views.begin(), views.end(), [](const ServerView& a, const ServerView& b) {
    return DiskUse(a) < DiskUse(b);
  });
  if (DiskUse(*hi) - DiskUse(*lo) > o.balance_disk_use_spread_max) {
    return Measure{[](const ServerView& v) { return DiskUse(v); }, o.balance_disk_use_spread_max, 1.0};
  }
  double total = std::accumulate(views.begin(), views.end(), 0.0,
                                 [](double sum, const ServerView& v) { return sum + v.replicas; });
  double spread = std::max<double>(o.balance_replicas_spread_min,
                                   o.balance_replicas_spread_fraction * total / static_cast<double>(views.size()));
  auto [few, many] = std::minmax_element(views.begin(), views.end(), [](const ServerView& a, const ServerView& b) {
    return a.replicas < b.replicas;
  });
  if (static_cast<double>(many->replicas) - static_cast<double>(few->replicas) <= spread) return std::nullopt;
  return Measure{[](const ServerView& v) { return static_cast<double>(v.replicas); }, spread,
                 o.balance_disk_use_spread_max / 2};
}

// The views after `bytes` of one replica moved from `from` to `to`'s `disk`.
void Apply(ServerView& from, ServerView& to, uint32_t disk, uint64_t bytes) {
  from.replicas--;
  to.replicas++;
  for (auto& d : to.disks) {
    if (d.index == disk) d.free_bytes -= std::min(d.free_bytes, bytes);
  }
  for (auto& d : from.disks) {
    if (!d.failed) {
      d.free_bytes = std::min(d.capacity_bytes, d.free_bytes + bytes);
      break;
    }
  }
}

// One move by `m`, or nullopt when no pair that differs enough has a
// movable chunk.
std::optional<BalanceMove> PlanOne(std::vector<ServerView>& views, const Measure& m, const FindMovableChunk& find) {
  std::vector<size_t> order(views.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    double ma = m.of(views[a]), mb = m.of(views[b]);
    return ma != mb ? ma > mb : views[a].id < views[b].id;
  });
  for (size_t s : order) {                     // fullest first
    for (auto t = order.rbegin(); t != order.rend(); ++t) {  // emptiest first
      if (*t == s || m.of(views[s]) - m.of(views[*t]) <= m.spread) break;
      auto chunk = find(views[s], views[*t]);
      if (!chunk) continue;
      auto disk = ChooseDisk(views[*t], chunk->bytes, 0);
      if (!disk.ok()) continue;
      ServerView source = views[s], target = views[*t];
      Apply(source, target, *disk, chunk->bytes);
      if (DiskUse(target) - DiskUse(source) > m.disk_use_gap_max) continue;
      views[s] = std::move(source);
      views[*t] = std::move(target);
      return BalanceMove{chunk->chunk_id, chunk->bytes, views[s].id, views[*t].id, *disk};
    }
  }
  return std::nullopt;
}

}  // namespace

double DiskUse(const ServerView& server) {
  uint64_t capacity = 0, free = 0;
  for (const auto& d : server.disks) {
    if (d.failed) continue;
    capacity += d.capacity_bytes;
    free += std::min(d.free_bytes, d.capacity_bytes);
  }
  return capacity == 0 ? 0 : static_cast<double>(capacity - free) / static_cast<double>(capacity);
}

std::vector<BalanceMove> PlanMoves(std::vector<ServerView> views, const MasterOptions& options, size_t moves_max,
                                   const FindMovableChunk& find) {
  std::vector<BalanceMove> moves;
  while (moves.size() < moves_max) {
    auto measure = PickMeasure(views, options);
    if (!measure) break;
    auto move = PlanOne(views, *measure, find);
    if (!move) break;
    moves.push_back(std::move(*move));
  }
  return moves;
}

}  // namespace strata::dfs::master
