// Rack spread repair (master_service.h): a chunk whose live replicas are in
// fewer racks than it has replicas, although enough racks have live servers,
// gets one replica moved from a rack holding two to a rack holding none.
// That state arises when a copy had to reuse a rack (every server of the
// missing rack was down or full) and the rack came back without its old
// replica, or when servers of a new rack join. A rack failure would
// otherwise take two of the chunk's three replicas.
//
// Repairs are moves (balancer.h): the new replica is listed when it lands,
// then the crowded rack's replica goes. They wait while recovery has chunks
// queued or a storm pause holds, and share the copy budget and per-server
// limits with recovery and the balancer.
#include <algorithm>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "dfs/master/master_service.h"

namespace strata::dfs::master {
namespace {

// Chunks looked at per tick, to bound a tick's work.
constexpr size_t kSpreadChunksPerTickMax = 1000;

}  // namespace

size_t MasterService::LiveRackCount() const {
  std::set<std::string> racks;
  for (const auto& [id, s] : membership_.servers()) {
    if (s.liveness == Liveness::kAlive) racks.insert(s.record.rack());
  }
  return racks.size();
}

void MasterService::NoteSpread(const ChunkRecord& c) {
  const size_t want = std::min<size_t>(c.replication(), spread_racks_);
  const bool short_of_racks = c.sealed() && c.length() > 0 && reconciler_.LiveReplicas(c) >= c.replication() &&
                              reconciler_.LiveRacks(c).size() < want;
  if (short_of_racks) {
    spread_short_.insert(c.chunk_id());
  } else {
    spread_short_.erase(c.chunk_id());
  }
}

bool MasterService::PlanSpreadRepair(const ChunkRecord& c, const std::vector<ServerView>& views,
                                     CopyTask* task) {
  const auto racks = reconciler_.LiveRacks(c);
  // Source: a live replica of a crowded rack, on the least busy server.
  const ReplicaRecord* source = nullptr;
  PlacementRequest place;
  place.replicas = 1;
  place.bytes_needed = c.length();
  place.disk_free_min_bytes = options_.disk_free_min_bytes;
  for (const auto& [rack, n] : racks) place.avoid_racks.insert(rack);
  for (const auto& r : c.replicas()) {
    place.exclude_servers.insert(r.server_id());
    const ServerState* s = membership_.Find(r.server_id());
    if (!s || !reconciler_.IsLive(r) || racks.at(s->record.rack()) < 2) continue;
    if (!membership_.IsAlive(r.server_id()) || !recovery_.SourceHasRoom(r.server_id())) continue;
    if (!source || recovery_.CopiesInvolving(r.server_id()) < recovery_.CopiesInvolving(source->server_id())) {
      source = &r;
    }
  }
  if (!source) return false;
  for (const auto& v : views) {
    if (!recovery_.TargetHasRoom(v.id)) place.exclude_servers.insert(v.id);
  }
  auto choice = PlaceReplicas(views, place, random_.get());
  if (!choice.ok()) return false;
  task->chunk_id = c.chunk_id();
  task->source = source->server_id();
  task->target = choice->front().server_id;
  task->target_disk = choice->front().disk;
  task->bytes = c.length();
  task->move = true;
  return true;
}

void MasterService::ScheduleSpreadRepairs() {
  const size_t live_racks = LiveRackCount();
  if (live_racks > spread_racks_) {
    // More racks to spread over than before (a rack came back, or a new one
    // joined): every chunk is looked at again once.
    spread_racks_ = live_racks;
    for (const auto& [id, c] : catalog_.chunks()) NoteSpread(c);
  }
  spread_racks_ = live_racks;
  if (spread_short_.empty() || storm_.Paused() || recovery_.AnyQueued()) return;
  std::vector<ServerView> views;
  size_t looked = 0;
  for (auto it = spread_short_.begin(); it != spread_short_.end() && looked < kSpreadChunksPerTickMax;) {
    if (!recovery_.BudgetAllows()) break;
    const uint64_t id = *it;
    const ChunkRecord* c = catalog_.FindChunk(id);
    const size_t want = c ? std::min<size_t>(c->replication(), live_racks) : 0;
    if (!c || !c->sealed() || reconciler_.LiveReplicas(*c) < c->replication() ||
        reconciler_.LiveRacks(*c).size() >= want) {
      it = spread_short_.erase(it);  // recovery's business, or whole already
      continue;
    }
    ++it;
    if (recovery_.InFlight(id)) continue;
    ++looked;
    if (views.empty()) views = ServerViews();
    CopyTask task;
    if (!PlanSpreadRepair(*c, views, &task)) continue;
    if (!queues_.Push(task.target, ReplicateCommand(*c, task))) continue;
    spdlog::info("master: chunk {} has replicas in {} racks only: moving the one on {} to {} disk {}", id,
                 reconciler_.LiveRacks(*c).size(), task.source, task.target, task.target_disk);
    recovery_.Start(task);
    m_.moves_started->Add();
    m_.spread_repairs->Add();
  }
}

}  // namespace strata::dfs::master
