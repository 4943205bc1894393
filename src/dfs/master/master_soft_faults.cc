// Fail-slow disks and chunkservers in the master: each heartbeat is judged
// by the server detector, then (unless the server is slow as a whole) by
// the disk detector, under one bound on disks out of service
// (soft_fault_state.h); the tick takes a READ_ONLY disk or server OFFLINE
// once every chunk on it is fully replicated elsewhere.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "dfs/master/master_service.h"

namespace strata::dfs::master {

bool MasterService::InService(const std::string& server, uint32_t disk) const {
  return ReplicaHealth(soft_faults_, slow_servers_, server, disk) == Health::kNormal;
}

SoftFaultBudget MasterService::FaultBudget() const {
  SoftFaultBudget budget;
  size_t disks = 0;
  for (const auto& [id, s] : membership_.servers()) {
    disks += s.disks.size();
    for (const auto& d : s.disks) budget.disks_out += !InService(id, d.index());
  }
  budget.cap = std::max<size_t>(1, static_cast<size_t>(options_.soft_fault_disks_fraction_max *
                                                        static_cast<double>(disks)));
  return budget;
}

void MasterService::ObserveSoftFaults(const std::string& server) {
  const ServerState* s = membership_.Find(server);
  if (!s) return;
  SoftFaultBudget budget = FaultBudget();
  size_t disks_in_service = 0;  // what the server would take out beyond its slow disks
  for (const auto& d : s->disks) disks_in_service += soft_faults_.HealthOf(server, d.index()) == Health::kNormal;
  HealthChange change = slow_servers_.Observe(server, membership_, disks_in_service, &budget);
  if (change == HealthChange::kHeld) {
    m_.soft_fault_alerts->Add();
    soft_fault_alert_ = slow_servers_.last_alert();
  }
  bool refresh = change == HealthChange::kDegraded || change == HealthChange::kRestored;
  uint64_t raised = soft_faults_.alerts_raised();
  refresh |= !soft_faults_.Observe(server, membership_, slow_servers_.SlowNow(server), &budget).empty();
  if (soft_faults_.alerts_raised() != raised) {
    m_.soft_fault_alerts->Add(soft_faults_.alerts_raised() - raised);
    soft_fault_alert_ = soft_faults_.last_alert();
  }
  if (refresh) RefreshServerChunks(server);
}

void MasterService::RefreshServerChunks(const std::string& server) {
  std::vector<uint64_t> ids(catalog_.ChunksOn(server).begin(), catalog_.ChunksOn(server).end());
  for (uint64_t id : ids) RefreshRecovery(id);
}

// Drops `server`'s replicas (those on `disk` if given) from the chunk map and
// deletes them, once every chunk holding one is sealed and has its full count
// of live replicas without them; false (nothing done) until then.
bool MasterService::RetireReplicas(const std::string& server, const uint32_t* disk) {
  std::vector<uint64_t> held;
  for (uint64_t id : catalog_.ChunksOn(server)) {
    const ChunkRecord* c = catalog_.FindChunk(id);
    bool here = std::any_of(c->replicas().begin(), c->replicas().end(), [&](const ReplicaRecord& r) {
      return r.server_id() == server && (!disk || r.disk() == *disk);
    });
    if (!here) continue;
    if (!c->sealed() || reconciler_.LiveReplicas(*c) < c->replication()) return false;
    held.push_back(id);
  }
  Mutation m;
  for (uint64_t id : held) m.PutChunk(ChunkMap::WithoutReplica(*catalog_.FindChunk(id), server));
  Status st = catalog_.Commit(m);
  if (!st.ok()) {
    spdlog::error("master: taking {} offline: {}", server, st.ToString());
    return false;
  }
  m_.replicas_removed->Add(held.size());
  for (uint64_t id : held) QueueDelete(server, id);
  return true;
}

void MasterService::TakeSlowDisksOffline() {
  for (const auto& disk : soft_faults_.ReadOnlyDisks()) {
    if (!RetireReplicas(disk.first, &disk.second)) continue;
    soft_faults_.SetOffline(disk);
    spdlog::warn("master: slow disk {} of {} is offline; its replicas have copies elsewhere", disk.second, disk.first);
  }
}

void MasterService::TakeSlowServersOffline() {
  for (const auto& server : slow_servers_.ReadOnlyServers()) {
    if (!RetireReplicas(server, nullptr)) continue;
    slow_servers_.SetOffline(server);
    spdlog::warn("master: slow chunkserver {} is offline; its replicas have copies elsewhere", server);
  }
}

}  // namespace strata::dfs::master
