#include "dfs/chunkserver/store/chunk_store.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "common/crc32c.h"
#include "common/logging.h"
#include "env/durable_dirs.h"

namespace strata::dfs {
namespace {

// Replicas of a returning disk are read back in pieces of this size.
constexpr uint64_t kVerifyPieceBytes = 1ull << 20;

}  // namespace

ChunkStore::ChunkStore(ChunkStoreOptions options, std::shared_ptr<FileSystem> fs, std::shared_ptr<Clock> clock,
                       MetricsRegistry* metrics)
    : options_(std::move(options)), fs_(std::move(fs)), clock_(std::move(clock)) {
  appends_ = metrics->GetCounter("strata_chunkserver_appends_total", "Appends acknowledged");
  append_bytes_ = metrics->GetCounter("strata_chunkserver_append_bytes_total", "Bytes appended");
  reads_ = metrics->GetCounter("strata_chunkserver_reads_total", "Reads served");
  read_bytes_ = metrics->GetCounter("strata_chunkserver_read_bytes_total", "Bytes read");
  corruptions_ = metrics->GetCounter("strata_chunkserver_corruptions_total",
                                     "Blocks whose CRC32C did not match on read");
  crc_rejects_ = metrics->GetCounter("strata_chunkserver_append_crc_rejects_total",
                                     "Appends refused because the payload CRC did not match");
  replicas_gauge_ = metrics->GetGauge("strata_chunkserver_replicas", "Chunk replicas held");
  return_removed_ = metrics->GetCounter("strata_chunkserver_disk_return_replicas_removed_total",
                                        "Replicas of a returning disk that failed their check and were removed");
  returns_.resize(options_.disk_paths.size());
  for (size_t i = 0; i < options_.disk_paths.size(); ++i) {
    disks_.push_back(std::make_unique<Disk>(static_cast<uint32_t>(i), options_.disk_paths[i], metrics));
  }
  std::vector<Disk*> disks;
  for (auto& d : disks_) disks.push_back(d.get());
  prober_ = std::make_unique<DiskProber>(options_.disk_probe_interval_ms, options_.disk_hang_ms, disks, fs_.get(),
                                         clock_.get(), metrics);
  flusher_ = std::make_unique<MemoryFlusher>(options_.memory, std::move(disks), clock_.get(), metrics);
  prober_->SetFailedDiskListener([this](Disk* disk, const Status& probe) { OnFailedDiskProbe(disk, probe); });
}

Result<std::unique_ptr<ChunkStore>> ChunkStore::Open(ChunkStoreOptions options, std::shared_ptr<FileSystem> fs,
                                                     std::shared_ptr<Clock> clock, MetricsRegistry* metrics) {
  if (options.disk_paths.empty()) return Status::InvalidArgument("a chunkserver needs at least one disk");
  std::unique_ptr<ChunkStore> store(new ChunkStore(std::move(options), std::move(fs), std::move(clock), metrics));
  // Every disk is claimed before any is loaded: a chunkserver refused one
  // disk leaves all of them as it found them.
  Random rng(RandomSeedFromOs());
  store->claims_.resize(store->disks_.size());
  for (auto& disk : store->disks_) {
    Status st = store->ClaimDisk(disk.get(), &rng);
    if (st.code() == StatusCode::kFailedPrecondition) return st;
  }
  for (auto& disk : store->disks_) {
    if (!store->claims_[disk->index()]) continue;  // failed while claiming
    Status st = store->LoadDisk(disk.get());
    if (!st.ok()) {
      // A disk that cannot even be scanned is failed; the others still serve.
      disk->MarkFailed(st.ToString(), /*replicas_lost=*/true);
    }
  }
  store->replicas_gauge_->Set(static_cast<double>(store->replicas_.size()));
  store->flusher_->Start();
  store->prober_->Start();
  return store;
}

Status ChunkStore::ClaimDisk(Disk* disk, Random* rng) {
  Status st = CreateDirsDurably(fs_.get(), disk->path());
  if (st.ok()) {
    auto claim = DiskClaim::Open(fs_.get(), disk->path(), rng);
    if (claim.ok()) {
      claims_[disk->index()] = std::move(*claim);
      return Status::Ok();
    }
    st = claim.status();
    if (st.code() == StatusCode::kFailedPrecondition) return st;
  }
  disk->Refuse(st.ToString());  // not claimed: nothing may touch it until a restart
  return st;
}

std::vector<DiskIdentity> ChunkStore::DiskIdentities() const {
  std::vector<DiskIdentity> out(disks_.size());
  for (size_t i = 0; i < claims_.size(); ++i) {
    if (claims_[i]) out[i] = claims_[i]->identity();
  }
  return out;
}

Status ChunkStore::AdoptCluster(const std::string& cluster_id) {
  Status first;
  for (auto& disk : disks_) {
    DiskClaim* claim = claims_[disk->index()].get();
    if (!claim) continue;
    Status st = claim->AdoptCluster(cluster_id);
    if (st.ok()) continue;
    spdlog::error("disk {} ({}): {}", disk->index(), disk->path(), st.ToString());
    if (st.code() == StatusCode::kFailedPrecondition) {
      disk->Refuse(st.message());
    } else {
      disk->NoteStatus(st);
    }
    if (first.ok()) first = st;
  }
  return first;
}

Status ChunkStore::LoadDisk(Disk* disk) {
  RETURN_IF_ERROR(CreateDirsDurably(fs_.get(), disk->chunks_dir()));
  ASSIGN_OR_RETURN(auto names, fs_->ListDir(disk->chunks_dir()));
  for (const auto& name : names) RETURN_IF_ERROR(LoadOne(disk, name));
  const std::set<std::string> present(names.begin(), names.end());
  // Files without a meta record are debris of creations or deletions that a
  // crash interrupted; nothing acknowledged lives in them.
  for (const auto& name : names) {
    std::string stem = name.substr(0, name.find('.'));
    bool is_tmp = name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0;
    if (!is_tmp && ChunkIdFromMetaName(stem + ".meta").ok() && present.count(stem + ".meta")) {
      continue;
    }
    spdlog::info("disk {}: removing debris {}", disk->index(), name);
    RETURN_IF_ERROR(fs_->RemoveFile(disk->chunks_dir() + "/" + name));
  }
  return Status::Ok();
}

Status ChunkStore::LoadOne(Disk* disk, const std::string& name) {
  auto id = ChunkIdFromMetaName(name);
  if (!id.ok()) return Status::Ok();
  auto replica = Replica::Load(fs_.get(), clock_.get(), disk, *id);
  if (!replica.ok()) {
    if (replica.status().code() != StatusCode::kCorruption) return replica.status();
    // A damaged replica is left on disk for inspection and not served; the
    // master sees it missing from the report and re-replicates the chunk.
    corruptions_->Add();
    spdlog::error("disk {}: not loading chunk {}: {}", disk->index(), name, replica.status().ToString());
    return Status::Ok();
  }
  std::lock_guard lock(mu_);
  auto [it, inserted] = replicas_.emplace(*id, *replica);
  if (!inserted) {
    // The same chunk on two disks: e.g. copied to a second disk while the
    // first was failed, which then came back. Serve the newer copy; the other
    // stays on its disk, unserved, for inspection.
    ReplicaState held = it->second->State(), found = (*replica)->State();
    auto rank = [](const ReplicaState& r) { return std::make_tuple(r.epoch, r.sealed, r.length); };
    const bool take_found = rank(found) > rank(held);
    spdlog::error("chunk {} found on disks {} (epoch {}, {}, {} bytes) and {} (epoch {}, {}, {} bytes); serving disk {}",
                  ChunkIdHex(*id), held.disk, held.epoch, held.sealed ? "sealed" : "open", held.length, found.disk,
                  found.epoch, found.sealed ? "sealed" : "open", found.length, take_found ? found.disk : held.disk);
    if (take_found) it->second = *replica;
  }
  return Status::Ok();
}

Status ChunkStore::Note(Disk* disk, Status st) {
  disk->NoteStatus(st);
  return st;
}

Status ChunkStore::NoteReplica(uint64_t chunk_id, Disk* disk, Status st) {
  if (st.code() == StatusCode::kCorruption) {
    corruptions_->Add();
    if (corruption_listener_) corruption_listener_(chunk_id, st.message());
  }
  return Note(disk, std::move(st));
}

Result<std::shared_ptr<Replica>> ChunkStore::Find(uint64_t chunk_id) const {
  std::lock_guard lock(mu_);
  auto it = replicas_.find(chunk_id);
  if (it == replicas_.end()) return Status::NotFound("chunk " + ChunkIdHex(chunk_id) + " is not on this chunkserver");
  return it->second;
}

bool ChunkStore::HasRoom(Disk* disk) {
  auto space = fs_->GetDiskSpace(disk->path());
  if (!space.ok()) {
    (void)Note(disk, space.status());
    return false;
  }
  disk->set_free_bytes_seen(space->free_bytes);
  return space->free_bytes >= options_.disk_reserve_bytes && space->free_bytes > 0;
}

// From the free space last measured (each heartbeat, each chunk creation),
// without a statvfs on the append path.
bool ChunkStore::HadRoomLastSeen(const Disk* disk) const {
  uint64_t free = disk->free_bytes_seen();
  return free >= options_.disk_reserve_bytes && free > 0;
}

Result<Disk*> ChunkStore::ChooseDisk(uint32_t preferred) {
  if (preferred < disks_.size() && !disks_[preferred]->failed() && HasRoom(disks_[preferred].get())) {
    return disks_[preferred].get();
  }
  Disk* best = nullptr;
  uint64_t best_free = 0;
  for (auto& disk : disks_) {
    if (disk->failed()) continue;
    auto space = fs_->GetDiskSpace(disk->path());
    if (!space.ok()) {
      (void)Note(disk.get(), space.status());
      continue;
    }
    if (space->free_bytes == 0 || space->free_bytes < options_.disk_reserve_bytes) continue;
    if (!best || space->free_bytes > best_free) {
      best = disk.get();
      best_free = space->free_bytes;
    }
  }
  if (!best) return Status::NoSpace("no healthy disk with free space for a new chunk");
  return best;
}

Result<uint32_t> ChunkStore::Create(uint64_t chunk_id, uint64_t epoch, uint32_t preferred_disk) {
  std::lock_guard create_lock(create_mu_);
  if (auto existing = Find(chunk_id); existing.ok()) return CreateExisting(*existing, epoch);
  // A disk that fails while creating is marked and the next one is tried.
  Status last = Status::NoSpace("no healthy disk");
  for (size_t attempt = 0; attempt < disks_.size(); ++attempt) {
    ASSIGN_OR_RETURN(Disk* disk, ChooseDisk(preferred_disk));
    auto replica = Replica::Create(fs_.get(), clock_.get(), disk, chunk_id, epoch);
    if (replica.ok()) {
      std::lock_guard lock(mu_);
      replicas_[chunk_id] = *replica;
      replicas_gauge_->Set(static_cast<double>(replicas_.size()));
      if (disk->index() != preferred_disk) created_elsewhere_++;
      return disk->index();
    }
    last = Note(disk, replica.status());
    if (!disk->failed()) return last;
  }
  return last;
}

Result<uint32_t> ChunkStore::CreateExisting(const std::shared_ptr<Replica>& r, uint64_t epoch) {
  ReplicaState s = r->State();
  if (s.epoch == epoch && s.length == 0 && !s.sealed) return s.disk;
  return Status::AlreadyExists("chunk " + ChunkIdHex(s.chunk_id) + " already exists (length=" +
                               std::to_string(s.length) + ", epoch " + std::to_string(s.epoch) + ")");
}

ChunkStore::~ChunkStore() {
  prober_->Stop();
  flusher_->Stop();
}

Result<uint64_t> ChunkStore::Append(const AppendArgs& args) {
  if (args.data.size() > options_.append_bytes_max) {
    return Status::InvalidArgument("append of " + std::to_string(args.data.size()) + " bytes exceeds " +
                                   std::to_string(options_.append_bytes_max));
  }
  if (Crc32c(args.data.data(), args.data.size()) != args.data_crc) {
    crc_rejects_->Add();
    return Status::Corruption("chunk " + ChunkIdHex(args.chunk_id) + ": payload CRC32C mismatch, nothing written");
  }
  ASSIGN_OR_RETURN(auto replica, Find(args.chunk_id));
  bool memory = args.durability == WriteDurability::kMemory;
  if (memory) {
    RETURN_IF_ERROR(flusher_->Admit(replica->disk(), args.data.size()));
    if (!HadRoomLastSeen(replica->disk())) {
      return Status::Unavailable("disk " + std::to_string(replica->disk()->index()) +
                                 " refuses memory-durability appends: full (below its reserve)");
    }
  }
  auto length = replica->Append(args.epoch, args.offset, args.data, /*sync=*/!memory);
  if (!length.ok()) return NoteReplica(args.chunk_id, replica->disk(), length.status());
  if (memory && !args.data.empty()) flusher_->Enqueue(replica, args.data.size());
  appends_->Add();
  append_bytes_->Add(args.data.size());
  return length;
}

Status ChunkStore::Read(uint64_t chunk_id, uint64_t offset, uint64_t length, std::string* out) {
  if (length > options_.read_bytes_max) {
    return Status::InvalidArgument("read of " + std::to_string(length) + " bytes exceeds " +
                                   std::to_string(options_.read_bytes_max));
  }
  ASSIGN_OR_RETURN(auto replica, Find(chunk_id));
  Status st = replica->Read(offset, length, out);
  if (!st.ok()) return NoteReplica(chunk_id, replica->disk(), st);
  reads_->Add();
  read_bytes_->Add(out->size());
  return Status::Ok();
}

Result<uint64_t> ChunkStore::Seal(uint64_t chunk_id, uint64_t epoch, uint64_t length) {
  ASSIGN_OR_RETURN(auto replica, Find(chunk_id));
  auto sealed = replica->Seal(epoch, length);
  if (!sealed.ok()) return NoteReplica(chunk_id, replica->disk(), sealed.status());
  return sealed;
}

Result<uint64_t> ChunkStore::Sync(uint64_t chunk_id) {
  ASSIGN_OR_RETURN(auto replica, Find(chunk_id));
  if (!replica->disk()->readable()) return NoteReplica(chunk_id, replica->disk(), replica->disk()->CheckHealthy());
  auto made = flusher_->FlushNow(replica);
  if (!made.ok()) return NoteReplica(chunk_id, replica->disk(), made.status());
  return replica->State().length;
}

Status ChunkStore::Delete(uint64_t chunk_id) {
  std::shared_ptr<Replica> replica;
  {
    std::lock_guard lock(mu_);
    auto it = replicas_.find(chunk_id);
    if (it == replicas_.end()) return Status::Ok();  // already gone: deletion is idempotent
    replica = it->second;
    replicas_.erase(it);
    replicas_gauge_->Set(static_cast<double>(replicas_.size()));
  }
  if (!replica->disk()->readable()) {
    // A failed disk is not touched again (it may hang); its files are debris
    // that the master deletes as orphans if the disk ever comes back.
    return Status::Ok();
  }
  Status st = replica->Remove();
  if (st.code() == StatusCode::kNotFound) return Status::Ok();
  return Note(replica->disk(), st);
}

Result<ReplicaState> ChunkStore::Info(uint64_t chunk_id) const {
  ASSIGN_OR_RETURN(auto replica, Find(chunk_id));
  return replica->State();
}

std::vector<ReplicaState> ChunkStore::ListReplicas(bool trusted_only) const {
  std::vector<std::shared_ptr<Replica>> all;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : replicas_) {
      if (!trusted_only || r->disk()->readable()) all.push_back(r);
    }
  }
  std::vector<ReplicaState> out;
  out.reserve(all.size());
  for (const auto& r : all) out.push_back(r->State());
  return out;
}

uint64_t ChunkStore::LayoutVersion() const {
  uint64_t transitions = 0;
  for (const auto& disk : disks_) transitions += disk->transitions();
  return transitions + created_elsewhere_.load();
}

void ChunkStore::OnFailedDiskProbe(Disk* disk, const Status& probe) {
  {
    std::lock_guard lock(return_mu_);
    ReturnState& r = returns_[disk->index()];
    if (!probe.ok()) {
      r.passes = 0;
      return;
    }
    ++r.passes;
    // Each failed attempt doubles the passes the next one waits for (up to
    // 64 times), so a disk that passes probes but fails its check is not
    // re-read every few seconds.
    const uint64_t needed = options_.disk_online_probes << std::min<uint64_t>(r.failed_attempts, 6);
    if (options_.disk_online_probes == 0 || r.passes < needed) return;
    if (r.auto_returns >= options_.disk_auto_online_max) {
      if (r.passes == needed) {
        spdlog::warn("disk {} ({}) passes its probes again but has come back {} times already; "
                     "`strata cluster disk --online` returns it", disk->index(), disk->path(), r.auto_returns);
      }
      return;
    }
  }
  Status st = ReturnDisk(disk->index(), /*forced=*/false);
  if (!st.ok()) {
    {
      std::lock_guard lock(return_mu_);
      ReturnState& r = returns_[disk->index()];
      r.passes = 0;
      ++r.failed_attempts;
    }
    spdlog::warn("disk {} ({}) passes its probes but stays failed: {}", disk->index(), disk->path(), st.ToString());
  }
}

Status ChunkStore::CheckSameDisk(Disk* disk) const {
  const DiskClaim* claim = claims_[disk->index()].get();
  if (!claim) return Status::FailedPrecondition("the disk was never claimed: restart the chunkserver to take it");
  const std::string where = disk->path() + "/" + kIdentityFileName;
  std::string bytes;
  Status read = [&]() -> Status {
    ASSIGN_OR_RETURN(auto file, fs_->OpenFile(where, OpenMode::kRead));
    ASSIGN_OR_RETURN(uint64_t size, file->Size());
    bytes.resize(std::min<uint64_t>(size, 4096));
    ASSIGN_OR_RETURN(size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
    bytes.resize(got);
    return Status::Ok();
  }();
  if (read.code() == StatusCode::kIoError) return read.WithContext("the disk still fails");
  auto found = read.ok() ? DecodeDiskIdentity(bytes) : Result<DiskIdentity>(read);
  if (!found.ok() || found->disk_id != claim->identity().disk_id) {
    return Status::FailedPrecondition(where + " is not the disk this chunkserver claimed (" +
                                      (found.ok() ? "disk id " + found->disk_id : found.status().ToString()) +
                                      "): another disk mounted? restart the chunkserver to take it");
  }
  return Status::Ok();
}

Result<size_t> ChunkStore::VerifyReplicasOf(Disk* disk) {
  std::vector<std::shared_ptr<Replica>> mine;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, r] : replicas_) {
      if (r->disk() == disk) mine.push_back(r);
    }
  }
  size_t removed = 0;
  std::string buf;
  for (const auto& r : mine) {
    Status st = r->Flush().status();
    const uint64_t length = r->State().length;
    for (uint64_t off = 0; st.ok() && off < length; off += kVerifyPieceBytes) {
      st = r->Read(off, std::min(kVerifyPieceBytes, length - off), &buf);
    }
    if (st.ok() || st.code() == StatusCode::kNotFound) continue;  // NotFound: deleted meanwhile
    if (st.code() != StatusCode::kCorruption) {
      // The disk still fails: it stays failed and its replicas stay as they are.
      disk->NoteStatus(st);
      return st.WithContext("chunk " + ChunkIdHex(r->chunk_id()));
    }
    corruptions_->Add();
    if (corruption_listener_) corruption_listener_(r->chunk_id(), st.message());
    spdlog::error("disk {}: chunk {} fails its check on the disk's return ({}); removing it", disk->index(),
                  ChunkIdHex(r->chunk_id()), st.ToString());
    {
      std::lock_guard lock(mu_);
      auto it = replicas_.find(r->chunk_id());
      if (it != replicas_.end() && it->second == r) replicas_.erase(it);
      replicas_gauge_->Set(static_cast<double>(replicas_.size()));
    }
    Status gone = r->Remove();
    if (!gone.ok() && gone.code() != StatusCode::kNotFound) {
      disk->NoteStatus(gone);
      return gone.WithContext("removing chunk " + ChunkIdHex(r->chunk_id()));
    }
    return_removed_->Add();
    ++removed;
  }
  return removed;
}

Status ChunkStore::ReturnDisk(uint32_t index, bool forced) {
  if (index >= disks_.size()) {
    return Status::InvalidArgument("no disk " + std::to_string(index) + " (this chunkserver has " +
                                   std::to_string(disks_.size()) + ")");
  }
  std::lock_guard serial(return_mu_);
  Disk* disk = disks_[index].get();
  if (!disk->failed()) return Status::Ok();
  if (disk->refused()) {
    return Status::FailedPrecondition("disk " + std::to_string(index) + " was refused (" + disk->failure() +
                                      "): only a restart takes it again");
  }
  RETURN_IF_ERROR(CheckSameDisk(disk));
  const uint64_t errors_before = disk->errors();
  RETURN_IF_ERROR(prober_->ProbeOnce(disk, /*tell_listener=*/false).WithContext("probe"));
  if (disk->failure_code() == StatusCode::kNoSpace && !HasRoom(disk)) {
    return Status::NoSpace("disk " + std::to_string(index) + " still has less free space than its reserve of " +
                           std::to_string(options_.disk_reserve_bytes) + " bytes");
  }
  size_t removed = 0;
  if (!disk->readable()) {
    ASSIGN_OR_RETURN(removed, VerifyReplicasOf(disk));
  }
  Status scan = LoadDisk(disk);
  {
    std::lock_guard lock(mu_);
    replicas_gauge_->Set(static_cast<double>(replicas_.size()));
  }
  if (!scan.ok()) return Note(disk, scan.WithContext("rescanning the disk"));
  if (disk->errors() != errors_before) {
    return Status::IoError("disk " + std::to_string(index) + " failed again while being checked");
  }
  disk->ReturnToService();
  ReturnState& r = returns_[index];
  r.passes = 0;
  r.failed_attempts = 0;
  if (!forced) ++r.auto_returns;
  spdlog::warn("disk {} ({}) returned to service{} ({} replica(s) failed their check and were removed)", index,
               disk->path(), forced ? " by the operator" : " after passing its probes", removed);
  return Status::Ok();
}

void ChunkStore::CheckDisks() {
  for (auto& disk : disks_) {
    if (!disk->failed() && !fs_->Exists(disk->chunks_dir())) {
      disk->MarkFailed("the directory " + disk->chunks_dir() + " is gone", /*replicas_lost=*/true);
    }
  }
}

std::vector<DiskReport> ChunkStore::DiskReports(bool drain_latency) {
  CheckDisks();
  if (drain_latency) prober_->CheckHung();
  std::vector<DiskReport> out(disks_.size());
  for (size_t i = 0; i < disks_.size(); ++i) {
    Disk* disk = disks_[i].get();
    DiskReport& rep = out[i];
    rep.index = disk->index();
    rep.path = disk->path();
    if (claims_[i]) {
      DiskIdentity id = claims_[i]->identity();
      rep.disk_id = id.disk_id;
      rep.cluster_id = id.cluster_id;
    }
    auto space = fs_->GetDiskSpace(disk->path());
    if (space.ok()) {
      disk->set_free_bytes_seen(space->free_bytes);
      rep.capacity_bytes = space->capacity_bytes;
      rep.free_bytes = space->free_bytes;
      rep.device_id = space->device_id;
    } else {
      (void)Note(disk, space.status());
    }
    auto window = drain_latency ? disk->DrainWindow() : disk->PeekWindow();
    rep.write_p50_us = window.p50_us;
    rep.write_p99_us = window.p99_us;
    rep.ops = window.ops;
    rep.failed = disk->failed();
    rep.failure = disk->failure();
    if (!rep.failed && space.ok() && space->free_bytes < options_.disk_reserve_bytes) {
      // Full for placement (no new chunks), though it still serves and
      // takes appends to its open chunks; back to healthy once space frees.
      rep.failed = true;
      rep.failure = "full: " + std::to_string(space->free_bytes) + " bytes free, below the reserve of " +
                    std::to_string(options_.disk_reserve_bytes);
    }
  }
  for (const ReplicaState& s : ListReplicas()) {
    if (s.disk >= out.size()) continue;
    out[s.disk].used_bytes += s.length;
    out[s.disk].chunks++;
  }
  return out;
}

}  // namespace strata::dfs
