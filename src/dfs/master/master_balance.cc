// The balancer's side of the master (balancer.h): starting moves while
// nothing is under-replicated, and dropping a move's source replica once the
// new one is reported. A chunk just moved is left alone for
// `balance_chunk_cooldown_ms`, so that servers dying and returning cannot
// make the same chunk travel back and forth (each move costs a copy, and
// readers holding its old locations must look it up again).
#include <spdlog/spdlog.h>

#include "dfs/master/master_service.h"

namespace strata::dfs::master {
namespace {

// Chunks looked at per source and target, to bound a tick's work.
constexpr size_t kMoveScanChunksMax = 10000;

}  // namespace

std::optional<MovableChunk> MasterService::FindMovableChunk(const ServerView& source, const ServerView& target,
                                                            const std::set<uint64_t>& planned) const {
  if (!recovery_.SourceHasRoom(source.id) || !recovery_.TargetHasRoom(target.id)) return std::nullopt;
  const ServerState* target_state = membership_.Find(target.id);
  if (!target_state) return std::nullopt;
  const std::string& target_rack = target_state->record.rack();
  size_t scanned = 0;
  for (uint64_t id : catalog_.ChunksOn(source.id)) {
    if (++scanned > kMoveScanChunksMax) break;
    if (planned.count(id) || recovery_.InFlight(id) || moved_us_.count(id)) continue;
    const ChunkRecord* c = catalog_.FindChunk(id);
    if (!c || !c->sealed() || c->length() == 0 || ChunkMap::HasReplica(*c, target.id)) continue;
    // Fully replicated, every listed replica live (the source's included).
    if (c->replicas_size() != static_cast<int>(c->replication()) || reconciler_.LiveReplicas(*c) != c->replication()) {
      continue;
    }
    // The rack spread stays: the source's own rack, or one no other replica is in.
    bool spread_kept = true;
    for (const auto& r : c->replicas()) {
      if (r.server_id() == source.id) continue;
      const ServerState* s = membership_.Find(r.server_id());
      if (s && s->record.rack() == target_rack && target_rack != source.rack) spread_kept = false;
    }
    if (spread_kept) return MovableChunk{id, c->length()};
  }
  return std::nullopt;
}

void MasterService::ScheduleMoves() {
  if (!options_.balance_enabled || storm_.Paused() || recovery_.AnyQueued()) return;
  const uint64_t now = clock_->NowMicros();
  for (auto it = moved_us_.begin(); it != moved_us_.end();) {
    it = now - it->second >= options_.balance_chunk_cooldown_ms * 1000 ? moved_us_.erase(it) : std::next(it);
  }
  const uint32_t in_flight = recovery_.moves_in_flight();
  if (in_flight >= options_.balance_moves_in_flight_max || !recovery_.BudgetAllows()) return;
  std::vector<ServerView> views;
  for (auto& v : ServerViews()) {
    bool in_service = std::any_of(v.disks.begin(), v.disks.end(), [](const DiskView& d) { return !d.failed; });
    if (in_service && membership_.IsAlive(v.id)) views.push_back(std::move(v));
  }
  std::set<uint64_t> planned;
  auto find = [&](const ServerView& source, const ServerView& target) {
    auto chunk = FindMovableChunk(source, target, planned);
    if (chunk) planned.insert(chunk->chunk_id);
    return chunk;
  };
  for (const auto& move : PlanMoves(std::move(views), options_, options_.balance_moves_in_flight_max - in_flight, find)) {
    if (!recovery_.SourceHasRoom(move.source) || !recovery_.TargetHasRoom(move.target)) continue;
    if (!recovery_.BudgetAllows()) break;
    const ChunkRecord* c = catalog_.FindChunk(move.chunk_id);
    if (!c) continue;
    CopyTask task;
    task.chunk_id = move.chunk_id;
    task.source = move.source;
    task.target = move.target;
    task.target_disk = move.target_disk;
    task.bytes = move.bytes;
    task.move = true;
    if (!queues_.Push(move.target, ReplicateCommand(*c, task))) continue;
    spdlog::info("master: balancing: moving chunk {} ({} bytes) from {} to {} disk {}", move.chunk_id, move.bytes,
                 move.source, move.target, move.target_disk);
    recovery_.Start(task);
    m_.moves_started->Add();
  }
}

// The new replica is listed (reconcile.h); the source's goes now, unless the
// chunk needs it still (another replica was lost meanwhile).
void MasterService::FinishMove(const CopyTask& move) {
  const ChunkRecord* c = catalog_.FindChunk(move.chunk_id);
  if (!c || !ChunkMap::HasReplica(*c, move.source) || !ChunkMap::HasReplica(*c, move.target)) return;
  if (reconciler_.LiveReplicas(*c) <= c->replication()) {
    RefreshRecovery(move.chunk_id);  // both kept; a later refresh drops the surplus once the other is back
    return;
  }
  Mutation m;
  m.PutChunk(ChunkMap::WithoutReplica(*c, move.source));
  Status st = catalog_.Commit(m);
  if (!st.ok()) {
    // The chunk keeps a surplus replica; a later full report of the source
    // finds it not needed and deletes it.
    spdlog::error("master: dropping the moved replica of chunk {} on {}: {}", move.chunk_id, move.source,
                  st.ToString());
    return;
  }
  m_.replicas_removed->Add();
  m_.moves_done->Add();
  if (options_.balance_chunk_cooldown_ms > 0) moved_us_[move.chunk_id] = clock_->NowMicros();
  QueueDelete(move.source, move.chunk_id);
  RefreshRecovery(move.chunk_id);
}

}  // namespace strata::dfs::master
