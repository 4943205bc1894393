#include "dfs/sim/sim_chunkserver.h"

#include <utility>

namespace strata::dfs::sim {
namespace {

constexpr uint64_t kDiskCapacityBytes = 100ull << 30;
constexpr uint64_t kWriteUs = 2000;        // a healthy disk's write p99
constexpr uint64_t kSlowWriteUs = 200000;  // a fail-slow one's

}  // namespace

SimChunkserver::SimChunkserver(std::string id, std::string rack, int disks)
    : id_(std::move(id)), rack_(std::move(rack)), disks_(static_cast<size_t>(disks)) {}

void SimChunkserver::Crash() {
  state_ = State::kDown;
  copies_.clear();
}

void SimChunkserver::Restart() {
  state_ = State::kUp;
  needs_register_ = true;
}

RegisterRequest SimChunkserver::MakeRegister() const {
  RegisterRequest req;
  req.set_server_id(id_);
  req.set_addr(id_);
  req.set_rack(rack_);
  const HeartbeatRequest hb = MakeHeartbeat(false);
  *req.mutable_disks() = hb.disks();
  for (size_t d = 0; d < disks_.size(); ++d) req.add_disk_ids(id_ + "-disk" + std::to_string(d));
  return req;
}

HeartbeatRequest SimChunkserver::MakeHeartbeat(bool full) const {
  HeartbeatRequest hb;
  hb.set_server_id(id_);
  hb.set_full_report(full);
  hb.set_copies_in_flight(static_cast<uint32_t>(copies_.size()));
  for (size_t d = 0; d < disks_.size(); ++d) {
    const SimDisk& disk = disks_[d];
    uint64_t used = 0;
    for (const auto& [id, r] : disk.files) used += r.length;
    DiskStat* s = hb.add_disks();
    s->set_index(static_cast<uint32_t>(d));
    s->set_capacity_bytes(kDiskCapacityBytes);
    s->set_used_bytes(used);
    s->set_free_bytes(kDiskCapacityBytes - used);
    s->set_failed(disk.failed);
    if (disk.failed) s->set_failure("simulated I/O error");
    s->set_chunks(static_cast<uint32_t>(disk.files.size()));
    s->set_media("hdd");
    // Every disk reports samples, so the fail-slow detector has a cluster to
    // compare with.
    s->set_ops(10);
    s->set_write_p50_us(disk.slow ? kSlowWriteUs : kWriteUs / 2);
    s->set_write_p99_us(disk.slow ? kSlowWriteUs : kWriteUs);
    if (!full || disk.failed) continue;
    for (const auto& [id, r] : disk.files) {
      ReplicaReport* rep = hb.add_replicas();
      rep->set_chunk_id(id);
      rep->set_disk(static_cast<uint32_t>(d));
      rep->set_length(r.length);
      rep->set_sealed(r.sealed);
      rep->set_epoch(r.epoch);
    }
  }
  return hb;
}

HeartbeatRequest SimChunkserver::MakeLandedReport(const std::vector<ReplicaReport>& landed) const {
  HeartbeatRequest hb;
  hb.set_server_id(id_);
  hb.set_copies_in_flight(static_cast<uint32_t>(copies_.size()));
  for (const auto& r : landed) *hb.add_replicas() = r;
  return hb;
}

void SimChunkserver::Apply(const ChunkCommand& cmd, uint64_t step, uint64_t delay_steps) {
  switch (cmd.kind()) {
    case ChunkCommand::DELETE:
      for (auto& disk : disks_) {
        if (!disk.failed) disk.files.erase(cmd.chunk_id());
      }
      break;
    case ChunkCommand::SEAL:
      for (auto& disk : disks_) {
        auto it = disk.files.find(cmd.chunk_id());
        if (disk.failed || it == disk.files.end() || it->second.length < cmd.length()) continue;
        it->second = SimReplica{cmd.length(), true, cmd.epoch(), it->second.corrupt};
      }
      break;
    case ChunkCommand::REPLICATE:
      if (cmd.target_disk() < disks_.size() && !disks_[cmd.target_disk()].failed) {
        copies_.push_back(Copy{cmd, step + delay_steps});
      }
      break;
    default:
      break;
  }
}

std::vector<ReplicaReport> SimChunkserver::FinishCopies(
    uint64_t step, const std::function<bool(const std::string&, uint64_t, uint64_t)>& source_holds) {
  std::vector<ReplicaReport> landed;
  std::vector<Copy> waiting;
  for (auto& copy : copies_) {
    if (copy.due_step > step) {
      waiting.push_back(std::move(copy));
      continue;
    }
    const ChunkCommand& cmd = copy.cmd;
    SimDisk& target = disks_[cmd.target_disk()];
    bool source_ok = false;
    for (const auto& src : cmd.sources()) source_ok |= source_holds(src.server_id(), cmd.chunk_id(), cmd.length());
    if (target.failed || !source_ok) continue;  // the copy fails; the master times it out
    target.files[cmd.chunk_id()] = SimReplica{cmd.length(), true, cmd.epoch(), false};
    ReplicaReport r;
    r.set_chunk_id(cmd.chunk_id());
    r.set_disk(cmd.target_disk());
    r.set_length(cmd.length());
    r.set_sealed(true);
    r.set_epoch(cmd.epoch());
    landed.push_back(r);
  }
  copies_ = std::move(waiting);
  return landed;
}

const SimReplica* SimChunkserver::Readable(uint64_t chunk, uint32_t* disk) const {
  for (size_t d = 0; d < disks_.size(); ++d) {
    if (disks_[d].failed) continue;
    auto it = disks_[d].files.find(chunk);
    if (it == disks_[d].files.end()) continue;
    if (disk) *disk = static_cast<uint32_t>(d);
    return &it->second;
  }
  return nullptr;
}

bool SimChunkserver::WriteReplica(uint32_t disk, uint64_t chunk, uint64_t length, uint64_t epoch) {
  if (!running() || disk >= disks_.size() || disks_[disk].failed) return false;
  disks_[disk].files[chunk] = SimReplica{length, false, epoch, false};
  return true;
}

}  // namespace strata::dfs::sim
