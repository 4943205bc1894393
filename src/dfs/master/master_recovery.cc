// Membership RPCs (REGISTER, HEARTBEAT, REPORT_BAD_REPLICA) and the periodic
// work of the master: dead-server detection, re-replication scheduling and
// garbage-collection dispatch. See recovery.h for the flow control.
#include <algorithm>
#include <set>
#include <tuple>

#include <spdlog/spdlog.h>

#include "dfs/master/master_service.h"

namespace strata::dfs::master {
namespace {

constexpr size_t kRecoveryCandidatesPerTickMax = 1000;
constexpr size_t kGcRecordsPerTickMax = 1000;

}  // namespace

std::vector<ServerView> MasterService::ServerViews() const {
  std::vector<ServerView> views;
  for (const auto& [id, s] : membership_.servers()) {
    if (s.liveness != Liveness::kAlive) continue;
    ServerView v;
    v.id = id;
    v.rack = s.record.rack();
    std::map<uint32_t, uint32_t> per_disk;
    for (uint64_t chunk_id : catalog_.ChunksOn(id)) {
      const ChunkRecord* c = catalog_.FindChunk(chunk_id);
      if (!c) continue;
      v.replicas++;
      if (!c->sealed()) v.load++;
      for (const auto& r : c->replicas()) {
        if (r.server_id() == id) per_disk[r.disk()]++;
      }
    }
    v.load += recovery_.CopiesInvolving(id) + s.copies_in_flight;
    for (const auto& d : s.disks) {
      bool out_of_service = d.failed() || !InService(id, d.index());
      v.disks.push_back({d.index(), d.capacity_bytes(), d.free_bytes(), out_of_service, per_disk[d.index()],
                         d.write_p99_us() >= kStalledDiskP99Us});
    }
    views.push_back(std::move(v));
  }
  return views;
}

void MasterService::RefreshRecovery(uint64_t chunk_id) {
  const ChunkRecord* c = catalog_.FindChunk(chunk_id);
  if (!c) {
    recovery_.Forget(chunk_id);
    chunks_.Forget(chunk_id);
    spread_short_.erase(chunk_id);
    return;
  }
  if (!c->sealed() || c->length() == 0) {
    recovery_.Update(chunk_id, 1, 1);  // nothing to copy (yet)
    return;
  }
  uint32_t live = reconciler_.LiveReplicas(*c);
  if (live >= c->replication()) DropReplacedFailedDiskReplicas(*c);
  if (live > c->replication() && !recovery_.InFlight(chunk_id)) {
    if (const ChunkRecord* now = catalog_.FindChunk(chunk_id)) DropSurplusReplicas(*now);
  }
  if (const ChunkRecord* now = catalog_.FindChunk(chunk_id)) NoteSpread(*now);
  recovery_.Update(chunk_id, live, c->replication());
}

// A chunk whole without its replicas on failed disks no longer needs them as
// a source: they leave the list (not deleted: the disk may come back, and
// then its report of them is a surplus that reconciliation deletes).
void MasterService::DropReplacedFailedDiskReplicas(const ChunkRecord& c) {
  ChunkRecord kept = c;
  kept.clear_replicas();
  for (const auto& r : c.replicas()) {
    if (!membership_.DiskFailed(r.server_id(), r.disk())) *kept.add_replicas() = r;
  }
  const auto dropped = static_cast<uint64_t>(c.replicas_size() - kept.replicas_size());
  if (dropped == 0) return;
  const uint64_t chunk_id = c.chunk_id();  // `c` is replaced by the commit
  Mutation m;
  m.PutChunk(kept);
  Status st = catalog_.Commit(m);
  if (!st.ok()) {
    spdlog::error("master: dropping the failed-disk replicas of chunk {}: {}", chunk_id, st.ToString());
    return;
  }
  m_.replicas_removed->Add(dropped);
  spdlog::info("master: chunk {} is whole again; its {} replica(s) on failed disks leave its list", chunk_id, dropped);
}

// A chunk listing more live replicas than its replication (a move that
// landed while another replica was out, which then came back) drops the
// surplus: each time one of a rack holding the most, so the spread stays.
void MasterService::DropSurplusReplicas(const ChunkRecord& c) {
  ChunkRecord kept = c;
  std::vector<std::string> dropped;
  while (reconciler_.LiveReplicas(kept) > kept.replication()) {
    const auto racks = reconciler_.LiveRacks(kept);
    uint32_t most = 0;
    for (const auto& [rack, n] : racks) most = std::max(most, n);
    std::string victim;  // the last listed live replica of a most crowded rack
    for (const auto& r : kept.replicas()) {
      const ServerState* s = membership_.Find(r.server_id());
      if (s && reconciler_.IsLive(r) && racks.at(s->record.rack()) == most) victim = r.server_id();
    }
    if (victim.empty()) break;
    kept = ChunkMap::WithoutReplica(kept, victim);
    dropped.push_back(victim);
  }
  if (dropped.empty()) return;
  const uint64_t chunk_id = c.chunk_id();  // `c` is replaced by the commit
  Mutation m;
  m.PutChunk(kept);
  Status st = catalog_.Commit(m);
  if (!st.ok()) {
    spdlog::error("master: dropping the surplus replicas of chunk {}: {}", chunk_id, st.ToString());
    return;
  }
  m_.replicas_removed->Add(dropped.size());
  for (const auto& server : dropped) {
    spdlog::info("master: chunk {} has a surplus replica; the one on {} goes", chunk_id, server);
    QueueDelete(server, chunk_id);
  }
}

void MasterService::QueueDelete(const std::string& server, uint64_t chunk_id) {
  ChunkCommand cmd;
  cmd.set_kind(ChunkCommand::DELETE);
  cmd.set_chunk_id(chunk_id);
  queues_.Push(server, cmd);
}

Status MasterService::Register(const RegisterRequest& req, RegisterResponse* resp) {
  std::lock_guard lock(mu_);
  Status st = membership_.Register(req);
  if (st.code() == StatusCode::kAlreadyExists) m_.registrations_refused->Add();
  RETURN_IF_ERROR(st);
  registrations_++;
  registered_cv_.notify_all();
  resp->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  resp->set_cluster_id(catalog_.cluster_id());
  return Status::Ok();
}

Status MasterService::Heartbeat(const HeartbeatRequest& req, HeartbeatResponse* resp) {
  std::lock_guard lock(mu_);
  auto failed_disks = [&] {
    std::set<uint32_t> out;
    if (const ServerState* s = membership_.Find(req.server_id())) {
      for (const auto& d : s->disks) {
        if (d.failed()) out.insert(d.index());
      }
    }
    return out;
  };
  const std::set<uint32_t> failed_before = failed_disks();
  if (!membership_.Heartbeat(req)) {
    resp->set_reregister(true);
    return Status::Ok();
  }
  // A disk that failed (or came back) changes the live count of its chunks.
  const bool disks_changed = failed_disks() != failed_before;
  if (req.disks_size() > 0) ObserveSoftFaults(req.server_id());  // a verdict needs fresh statistics
  const uint64_t landed_before = recovery_.landed();
  RETURN_IF_ERROR(ApplyReport(req.server_id(), req));
  if (disks_changed) RefreshServerChunks(req.server_id());
  // A copy that landed freed slots: fill them now, so that the next copy to
  // this server leaves in this reply and recovery is paced by its limits,
  // not by ticks and heartbeats (a target reports each copy as it lands).
  if (recovery_.landed() != landed_before && !storm_.Paused()) {
    ScheduleCopies();
    ScheduleSpreadRepairs();
    ScheduleMoves();
  }
  for (auto& cmd : queues_.Drain(req.server_id(), options_.heartbeat_commands_max)) {
    if (cmd.kind() == ChunkCommand::DELETE) m_.deletes_sent->Add();
    if (cmd.kind() == ChunkCommand::SEAL) m_.seals_sent->Add();
    *resp->add_commands() = std::move(cmd);
  }
  return Status::Ok();
}

Status MasterService::ReportBadReplica(const ReportBadReplicaRequest& req, ReportBadReplicaResponse*) {
  std::lock_guard lock(mu_);
  m_.bad_replicas->Add();
  const ChunkRecord* c = catalog_.FindChunk(req.chunk_id());
  if (!c || !ChunkMap::HasReplica(*c, req.server_id())) return Status::Ok();
  if (c->replicas_size() <= 1) {
    spdlog::error("master: the only replica of chunk {} (on {}) is reported bad ({}); keeping it", c->chunk_id(),
                  req.server_id(), req.reason());
    return Status::Ok();
  }
  spdlog::warn("master: replica of chunk {} on {} reported bad: {}", c->chunk_id(), req.server_id(), req.reason());
  Mutation m;
  m.PutChunk(ChunkMap::WithoutReplica(*c, req.server_id()));
  RETURN_IF_ERROR(catalog_.Commit(m));
  m_.replicas_removed->Add();
  QueueDelete(req.server_id(), req.chunk_id());
  RefreshRecovery(req.chunk_id());
  return Status::Ok();
}

void MasterService::DropServerReplicas(const std::string& server) {
  queues_.Clear(server);
  soft_faults_.Forget(server);  // out of service anyway; frees the bound
  slow_servers_.Forget(server);
  for (const auto& task : recovery_.AbortServer(server)) {
    m_.copies_failed->Add();
    RefreshRecovery(task.chunk_id);
  }
  std::vector<uint64_t> ids(catalog_.ChunksOn(server).begin(), catalog_.ChunksOn(server).end());
  Mutation m;
  for (uint64_t id : ids) m.PutChunk(ChunkMap::WithoutReplica(*catalog_.FindChunk(id), server));
  Status st = catalog_.Commit(m);
  if (!st.ok()) {
    // Retried on the next tick: the server stays dead, its replicas stay
    // listed but no longer count as live.
    spdlog::error("master: dropping the replicas of dead chunkserver {}: {}", server, st.ToString());
  } else {
    m_.replicas_removed->Add(ids.size());
  }
  for (uint64_t id : ids) RefreshRecovery(id);
}

bool MasterService::PlanCopy(const ChunkRecord& c, const std::vector<ServerView>& views, bool urgent_lane,
                             CopyTask* task) const {
  // Source: a live holder with a free copy slot, not slow, the least busy first.
  const ReplicaRecord* source = nullptr;
  for (const auto& r : c.replicas()) {
    if (!membership_.IsAlive(r.server_id()) || !recovery_.SourceHasRoom(r.server_id(), urgent_lane)) continue;
    auto key = [&](const ReplicaRecord& x) {
      return std::make_tuple(membership_.DiskFailed(x.server_id(), x.disk()),
                             ReplicaSlowNow(soft_faults_, slow_servers_, x.server_id(), x.disk()),
                             recovery_.CopiesInvolving(x.server_id()));
    };
    if (!source || key(r) < key(*source)) {
      source = &r;
    }
  }
  if (!source) return false;
  // Target: in a rack the chunk is not in yet. If such a server exists but
  // has no free copy slot, wait for it rather than settle for a used rack;
  // reuse a rack only when no unused rack has an eligible server at all.
  PlacementRequest place;
  place.replicas = 1;
  place.bytes_needed = c.length();
  place.disk_free_min_bytes = options_.disk_free_min_bytes;
  for (const auto& r : c.replicas()) {
    place.exclude_servers.insert(r.server_id());
    // A replica on its way out (a read-only disk or server) does not hold
    // its rack: the copy replacing it may go to that rack.
    bool stays = membership_.CountsReplicas(r.server_id()) && !membership_.DiskFailed(r.server_id(), r.disk()) &&
                 ReplicaHealth(soft_faults_, slow_servers_, r.server_id(), r.disk()) == Health::kNormal;
    if (!stays) continue;
    if (const ServerState* s = membership_.Find(r.server_id())) place.avoid_racks.insert(s->record.rack());
  }
  PlacementRequest ready = place;
  for (const auto& v : views) {
    if (!recovery_.TargetHasRoom(v.id, urgent_lane)) ready.exclude_servers.insert(v.id);
  }
  auto choice = PlaceReplicas(views, ready, random_.get());
  if (!choice.ok()) {
    if (PlaceReplicas(views, place, random_.get()).ok()) return false;  // a better target is busy
    ready.allow_rack_reuse = true;
    choice = PlaceReplicas(views, ready, random_.get());
  }
  if (!choice.ok()) return false;
  task->chunk_id = c.chunk_id();
  task->source = source->server_id();
  task->target = choice->front().server_id;
  task->target_disk = choice->front().disk;
  task->bytes = c.length();
  task->urgent_lane = urgent_lane;
  return true;
}

ChunkCommand MasterService::ReplicateCommand(const ChunkRecord& c, const CopyTask& task) const {
  ChunkCommand cmd;
  cmd.set_kind(ChunkCommand::REPLICATE);
  cmd.set_chunk_id(c.chunk_id());
  cmd.set_length(c.length());
  cmd.set_epoch(c.epoch());
  cmd.set_target_disk(task.target_disk);
  cmd.set_rate_limit_bytes_per_sec(recovery_.rate_limit_bytes_per_sec());
  *cmd.add_sources() = Locate(*std::find_if(c.replicas().begin(), c.replicas().end(),
                                            [&](const ReplicaRecord& r) { return r.server_id() == task.source; }));
  for (const auto& r : c.replicas()) {
    if (r.server_id() != task.source && membership_.IsAlive(r.server_id())) *cmd.add_sources() = Locate(r);
  }
  return cmd;
}

void MasterService::ScheduleCopies() {
  auto candidates = recovery_.Candidates(kRecoveryCandidatesPerTickMax);
  if (candidates.empty()) return;
  std::vector<ServerView> views = ServerViews();
  for (uint64_t id : candidates) {
    const ChunkRecord* c = catalog_.FindChunk(id);
    if (!c) {
      RefreshRecovery(id);
      continue;
    }
    // Regular copies within the budget; a chunk with one replica left may
    // also take the urgent lane (recovery.h). Candidates come most urgent
    // first, so once neither is possible nothing further is.
    bool regular = recovery_.BudgetAllows();
    bool urgent = recovery_.Urgent(id) && recovery_.UrgentLaneFree();
    if (!regular && !urgent) break;
    CopyTask task;
    bool planned = regular && PlanCopy(*c, views, /*urgent_lane=*/false, &task);
    if (!planned && urgent) planned = PlanCopy(*c, views, /*urgent_lane=*/true, &task);
    if (!planned) continue;
    if (!queues_.Push(task.target, ReplicateCommand(*c, task))) continue;
    spdlog::info("master: re-replicating chunk {} ({} bytes) from {} to {} disk {}{}", id, task.bytes, task.source,
                 task.target, task.target_disk, task.urgent_lane ? " (urgent lane: one replica left)" : "");
    if (task.urgent_lane) m_.urgent_copies->Add();
    recovery_.Start(task);
    m_.copies_started->Add();
  }
}

void MasterService::Tick() {
  std::vector<std::string> expired;
  std::vector<CopyTask> polled;
  std::vector<ChunkQuery> queries;
  {
    std::lock_guard lock(mu_);
    TickLocked();
    expired = ExpiredLeasesLocked();
    for (auto& task : recovery_.DuePolls(options_.recovery_poll_interval_ms * 1000)) {
      const ServerState* target = membership_.Find(task.target);
      if (!target) continue;
      queries.push_back({target->record.addr(), task.chunk_id});
      polled.push_back(std::move(task));
    }
  }
  for (const auto& path : expired) ExpireLease(path);
  if (queries.empty()) return;
  auto answers = stub_->ChunkInfoEach(queries, options_.chunkserver_rpc_timeout_ms);
  std::lock_guard lock(mu_);
  ApplyCopyPolls(polled, answers);
}

// A target that answers for its copy is treated as if its heartbeat had
// reported that one replica, so the reconciliation rules decide.
void MasterService::ApplyCopyPolls(const std::vector<CopyTask>& polled,
                                   const std::vector<Result<ChunkInfoResponse>>& answers) {
  for (size_t i = 0; i < polled.size() && i < answers.size(); ++i) {
    if (!answers[i].ok() || !answers[i]->sealed()) continue;
    if (!membership_.IsAlive(polled[i].target)) continue;
    HeartbeatRequest hb;
    hb.set_server_id(polled[i].target);
    ReplicaReport* r = hb.add_replicas();
    r->set_chunk_id(polled[i].chunk_id);
    r->set_disk(answers[i]->disk());
    r->set_length(answers[i]->length());
    r->set_sealed(true);
    r->set_epoch(answers[i]->epoch());
    Status st = ApplyReport(polled[i].target, hb);
    if (!st.ok()) spdlog::error("master: recording the copy of chunk {}: {}", polled[i].chunk_id, st.ToString());
  }
}

Status MasterService::ApplyReport(const std::string& server, const HeartbeatRequest& report) {
  ASSIGN_OR_RETURN(ReconcileOutcome out, reconciler_.Apply(server, report));
  // A landed move drops its source first: only then is what is left of a
  // surplus (DropSurplusReplicas) something to trim.
  for (const auto& move : out.moves_landed) FinishMove(move);
  for (uint64_t id : out.changed) RefreshRecovery(id);
  m_.replicas_added->Add(out.added);
  m_.replicas_removed->Add(out.removed);
  for (auto& cmd : out.commands) queues_.Push(server, std::move(cmd));
  return Status::Ok();
}

void MasterService::TickLocked() {
  auto dead = membership_.DetectDead();
  for (const auto& server : dead) {
    m_.servers_died->Add();
    DropServerReplicas(server);
  }
  if (storm_.OnDeaths(dead, membership_)) m_.storms->Add();
  for (const auto& task : recovery_.ExpireTasks()) {
    spdlog::warn("master: copy of chunk {} from {} to {} timed out", task.chunk_id, task.source, task.target);
    m_.copies_failed->Add();
    RefreshRecovery(task.chunk_id);
  }
  UpdateThrottle();
  storm_.OnTick(membership_);
  if (!storm_.Paused()) {
    ScheduleCopies();
    ScheduleSpreadRepairs();
    ScheduleMoves();
  }
  TakeSlowDisksOffline();
  TakeSlowServersOffline();
  auto gc = gc_.Dispatch(kGcRecordsPerTickMax,
                         [this](const std::string& server) { return !membership_.CountsReplicas(server); });
  if (!gc.ok()) spdlog::error("master: garbage collection: {}", gc.status().ToString());
  chunks_.PruneSealTimes(options_.seal_grace_ms * 1000);
  UpdateGauges();
}

// Adapts the recovery limits to foreground latency (recovery_throttle.h).
void MasterService::UpdateThrottle() {
  bool active = recovery_.in_flight() > 0;
  for (const auto& [id, s] : membership_.servers()) active |= s.liveness == Liveness::kAlive && s.copies_in_flight > 0;
  uint64_t p99 = RecoveryThrottle::ForegroundP99Us(
      membership_, [this](const std::string& server, uint32_t disk) { return InService(server, disk); });
  throttle_.Update(p99, active);
  recovery_.SetLimits(throttle_.bytes_per_sec(), throttle_.copies_per_server());
}

void MasterService::UpdateGauges() {
  size_t dead = 0;
  for (const auto& [id, s] : membership_.servers()) dead += s.liveness == Liveness::kDead;
  m_.servers_alive->Set(static_cast<double>(membership_.alive_count()));
  m_.servers_dead->Set(static_cast<double>(dead));
  m_.files->Set(static_cast<double>(catalog_.file_count()));
  m_.chunks->Set(static_cast<double>(catalog_.chunks().size()));
  RecoveryStats rs = recovery_.Stats();
  m_.copies_done->Add(rs.done - copies_done_counted_);
  copies_done_counted_ = rs.done;
  m_.under_replicated->Set(static_cast<double>(rs.queued + rs.lost));
  m_.lost->Set(static_cast<double>(rs.lost));
  m_.recovery_queued->Set(static_cast<double>(rs.queued));
  m_.recovery_in_flight->Set(static_cast<double>(rs.in_flight));
  m_.recovery_paused->Set(storm_.Paused() ? 1 : 0);
  m_.gc_pending->Set(static_cast<double>(catalog_.gc().size()));
  m_.soft_fault_alerts_active->Set(
      static_cast<double>(soft_faults_.Alerts().size() + slow_servers_.Alerts().size()));
  m_.disks_out_of_service->Set(static_cast<double>(FaultBudget().disks_out));
  m_.servers_slow->Set(static_cast<double>(slow_servers_.OutOfService().size()));
  m_.recovery_rate->Set(static_cast<double>(recovery_.rate_limit_bytes_per_sec()));
  m_.recovery_copies_per_server->Set(static_cast<double>(recovery_.copies_per_server()));
  m_.foreground_p99->Set(static_cast<double>(throttle_.foreground_p99_us()));
}

}  // namespace strata::dfs::master
