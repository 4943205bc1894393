#include "dfs/master/reconcile.h"

#include <algorithm>
#include <map>

#include <spdlog/spdlog.h>

namespace strata::dfs::master {

struct Reconciler::Pending {
  std::map<uint64_t, ChunkRecord> records;
  const ChunkRecord& Get(const ChunkRecord& stored) {
    auto it = records.find(stored.chunk_id());
    return it == records.end() ? stored : it->second;
  }
};

ChunkCommand Reconciler::Command(ChunkCommand::Kind kind, uint64_t chunk_id, uint64_t length, uint64_t epoch) {
  ChunkCommand cmd;
  cmd.set_kind(kind);
  cmd.set_chunk_id(chunk_id);
  cmd.set_length(length);
  cmd.set_epoch(epoch);
  return cmd;
}

bool Reconciler::IsLive(const ReplicaRecord& r) const {
  return membership_->CountsReplicas(r.server_id()) && !membership_->DiskFailed(r.server_id(), r.disk()) &&
         ReplicaHealth(*soft_faults_, *slow_servers_, r.server_id(), r.disk()) == Health::kNormal;
}

uint32_t Reconciler::LiveReplicas(const ChunkRecord& c) const {
  uint32_t live = 0;
  for (const auto& r : c.replicas()) live += IsLive(r);
  return live;
}

std::map<std::string, uint32_t> Reconciler::LiveRacks(const ChunkRecord& c) const {
  std::map<std::string, uint32_t> racks;
  for (const auto& r : c.replicas()) {
    const ServerState* s = membership_->Find(r.server_id());
    if (s && IsLive(r)) racks[s->record.rack()]++;
  }
  return racks;
}

Result<ReconcileOutcome> Reconciler::Apply(const std::string& server, const HeartbeatRequest& hb) {
  ReconcileOutcome out;
  Pending pending;
  std::set<uint64_t> reported;
  for (const auto& r : hb.replicas()) {
    reported.insert(r.chunk_id());
    OneReplica(server, r, &pending, &out);
  }
  if (hb.full_report()) MissingReplicas(server, reported, &pending, &out);
  Mutation m;
  for (const auto& [id, rec] : pending.records) m.PutChunk(rec);
  RETURN_IF_ERROR(catalog_->Commit(m));
  for (const auto& [id, rec] : pending.records) out.changed.insert(id);
  return out;
}

void Reconciler::OneReplica(const std::string& server, const ReplicaReport& r, Pending* p, ReconcileOutcome* out) {
  const ChunkRecord* stored = catalog_->FindChunk(r.chunk_id());
  if (!stored) {
    out->commands.push_back(Command(ChunkCommand::DELETE, r.chunk_id(), 0, 0));
    out->deletes++;
    return;
  }
  if (ChunkMap::ReplicaDiskDiffers(p->Get(*stored), server, r.disk())) {
    p->records[r.chunk_id()] = ChunkMap::WithReplicaDisk(p->Get(*stored), server, r.disk());
  }
  const ChunkRecord& c = p->Get(*stored);
  if (!c.sealed()) {
    if (ChunkMap::HasReplica(c, server)) chunks_->NoteReportedLength(c.chunk_id(), server, r.length());
    return;
  }
  SealedReplica(server, r, c, p, out);
}

void Reconciler::SealedReplica(const std::string& server, const ReplicaReport& r, const ChunkRecord& c, Pending* p,
                               ReconcileOutcome* out) {
  const bool listed = ChunkMap::HasReplica(c, server);
  // A replica on a failed disk is neither counted (LiveReplicas) nor fixed
  // nor deleted: the disk can do nothing now. Listed, it stays a last-resort
  // source; unlisted (an old file a copy found there), it is not a new copy.
  if (membership_->DiskFailed(server, r.disk())) return;
  const CopyTask* copy = recovery_->InFlight(c.chunk_id());
  const bool copying_here = copy && copy->target == server;
  if (r.sealed() && r.length() == c.length()) {
    if (listed) return;
    if (copying_here && copy->move) {
      p->records[c.chunk_id()] = ChunkMap::WithReplica(c, server, r.disk());
      out->moves_landed.push_back(*copy);
      recovery_->Complete(c.chunk_id(), server);
      out->added++;
      return;
    }
    if (LiveReplicas(c) < c.replication()) {
      p->records[c.chunk_id()] = ChunkMap::WithReplica(c, server, r.disk());
      recovery_->Complete(c.chunk_id(), server);
      out->added++;
    } else if (!copy && RestoresSpread(server, r, c, p, out)) {
      return;
    } else {
      // Surplus (e.g. a server came back while a copy was made elsewhere).
      if (copying_here) {
        recovery_->Complete(c.chunk_id(), server);
        out->changed.insert(c.chunk_id());  // nothing in flight now: a listed surplus can go
      }
      out->commands.push_back(Command(ChunkCommand::DELETE, c.chunk_id(), 0, 0));
      out->deletes++;
    }
    return;
  }
  if (copying_here) return;
  if (!r.sealed() && r.length() >= c.length()) {
    out->commands.push_back(Command(ChunkCommand::SEAL, c.chunk_id(), c.length(), c.epoch()));
    out->seals++;
    return;
  }
  if (!r.sealed() && chunks_->SealedWithin(c.chunk_id(), options_.seal_grace_ms * 1000)) return;
  if (listed && c.replicas_size() <= 1) {
    spdlog::error("master: the last replica of chunk {} (on {}) has length {} instead of {}; keeping it",
                  c.chunk_id(), server, r.length(), c.length());
    return;
  }
  spdlog::warn("master: replica of chunk {} on {} has length {} (sealed={}) instead of {}; replacing it",
               c.chunk_id(), server, r.length(), r.sealed(), c.length());
  if (listed) {
    p->records[c.chunk_id()] = ChunkMap::WithoutReplica(c, server);
    out->removed++;
  }
  out->commands.push_back(Command(ChunkCommand::DELETE, c.chunk_id(), 0, 0));
  out->deletes++;
}

// A server back from the dead, whose rack the chunk lost while it was gone
// (its copy went to a rack already used, for lack of another), holds the
// better replica: it is listed, and the chunk's surplus then leaves from a
// rack holding two (MasterService::DropSurplusReplicas).
bool Reconciler::RestoresSpread(const std::string& server, const ReplicaReport& r, const ChunkRecord& c, Pending* p,
                                ReconcileOutcome* out) {
  const ServerState* self = membership_->Find(server);
  if (!self) return false;
  const auto racks = LiveRacks(c);
  if (racks.count(self->record.rack())) return false;
  const bool crowded = std::any_of(racks.begin(), racks.end(), [](const auto& rack) { return rack.second >= 2; });
  if (!crowded) return false;
  p->records[c.chunk_id()] = ChunkMap::WithReplica(c, server, r.disk());
  out->added++;
  return true;
}

void Reconciler::MissingReplicas(const std::string& server, const std::set<uint64_t>& reported, Pending* p,
                                 ReconcileOutcome* out) {
  const uint64_t grace_us = options_.seal_grace_ms * 1000;
  std::vector<uint64_t> missing;
  for (uint64_t id : catalog_->ChunksOn(server)) {
    if (!reported.count(id)) missing.push_back(id);
  }
  for (uint64_t id : missing) {
    const ChunkRecord& c = p->Get(*catalog_->FindChunk(id));
    if (!c.sealed() || chunks_->SealedWithin(id, grace_us)) continue;
    // A failed disk's replicas are reported lost, but their files are
    // likely intact: they stay listed as a last-resort source until the
    // chunk is whole without them (MasterService::RefreshRecovery).
    bool on_failed_disk = std::any_of(c.replicas().begin(), c.replicas().end(), [&](const ReplicaRecord& r) {
      return r.server_id() == server && membership_->DiskFailed(server, r.disk());
    });
    if (on_failed_disk) continue;
    spdlog::warn("master: chunkserver {} no longer has its replica of chunk {}", server, id);
    p->records[id] = ChunkMap::WithoutReplica(c, server);
    out->removed++;
  }
}

}  // namespace strata::dfs::master
