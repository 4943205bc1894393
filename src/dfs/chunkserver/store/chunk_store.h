// ChunkStore: every chunk replica held by one chunkserver, over its disks.
//
// Open() first claims every disk (its lock and identity, disk_identity.h; a
// disk another process serves makes Open fail before anything is read or
// changed), then scans each disk's chunks/ directory and loads every replica
// (recovering torn tails, removing debris of interrupted creations). A disk
// whose identity names another cluster than its master's is refused when the
// master's cluster id becomes known (AdoptCluster): failed, its replicas left
// out of reports and untouched. New
// chunks go to the requested disk when it is healthy and has room, otherwise
// to the healthy disk with the most free space. Any I/O error, ENOSPC or
// permission error from a disk marks that disk failed (see disk.h); the error
// is returned to the caller as is, so a full disk is a clear NoSpace, never a
// crash.
//
// Appends verify the writer's CRC32C of the payload before touching the disk.
// `sync` appends are durable when they return; `memory` appends are in the
// page cache and are made durable by the MemoryFlusher within its deadline
// (memory_flusher.h), which may also refuse them on a slow or busy disk.
//
// Thread-safety: thread-safe; operations on different chunks run in parallel,
// operations on one chunk are serialised by its Replica.
// Ownership: owns Disks, their claims and Replicas; shares the FileSystem and Clock; borrows
// the MetricsRegistry, which must outlive the store.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "common/result.h"
#include "dfs/chunkserver/store/disk.h"
#include "dfs/chunkserver/store/disk_identity.h"
#include "dfs/chunkserver/store/disk_prober.h"
#include "dfs/chunkserver/store/memory_flusher.h"
#include "dfs/chunkserver/store/replica.h"
#include "env/clock.h"
#include "env/file_system.h"

namespace strata::dfs {

struct ChunkStoreOptions {
  std::vector<std::string> disk_paths;       // one directory per disk; index = position
  uint64_t append_bytes_max = 64ull << 20;   // larger appends are InvalidArgument
  uint64_t read_bytes_max = 64ull << 20;     // larger reads are InvalidArgument
  uint64_t disk_reserve_bytes = 64ull << 20; // no new chunks on a disk with less free space
  MemoryFlusherOptions memory;               // memory durability bounds
  uint64_t disk_probe_interval_ms = 1000;    // latency probe per disk (disk_prober.h); 0: none
  uint64_t disk_hang_ms = 30000;             // a probe running this long fails its disk as hung
  uint64_t disk_online_probes = 3;           // passing probes in a row that return a failed disk; 0: never
  uint64_t disk_auto_online_max = 3;         // automatic returns per disk; then only ReturnDisk(forced)
};

enum class WriteDurability { kSync, kMemory };

struct AppendArgs {
  uint64_t chunk_id = 0;
  uint64_t epoch = 0;
  uint64_t offset = 0;
  std::string_view data;
  uint32_t data_crc = 0;  // CRC32C of `data` computed by the writer
  WriteDurability durability = WriteDurability::kSync;
};

class ChunkStore {
 public:
  // Called with the chunk id and the reason whenever a replica's data fails
  // its CRC check (on read, retry comparison or seal), so that it can be
  // reported to the master. Runs on the thread that found the corruption.
  using CorruptionListener = std::function<void(uint64_t chunk_id, const std::string& reason)>;

  static Result<std::unique_ptr<ChunkStore>> Open(ChunkStoreOptions options, std::shared_ptr<FileSystem> fs,
                                                  std::shared_ptr<Clock> clock, MetricsRegistry* metrics);

  // Creates an empty replica; returns the disk it went to. Creating an
  // existing empty, unsealed replica at the same epoch is OK (a retry).
  Result<uint32_t> Create(uint64_t chunk_id, uint64_t epoch, uint32_t preferred_disk);
  // Returns the replica length after the append (see Replica::Append).
  Result<uint64_t> Append(const AppendArgs& args);
  Status Read(uint64_t chunk_id, uint64_t offset, uint64_t length, std::string* out);
  Result<uint64_t> Seal(uint64_t chunk_id, uint64_t epoch, uint64_t length);
  // Makes every acknowledged append of the replica durable; returns its
  // length.
  Result<uint64_t> Sync(uint64_t chunk_id);
  Status Delete(uint64_t chunk_id);
  Result<ReplicaState> Info(uint64_t chunk_id) const;

  ~ChunkStore();

  // REQUIRES: called before the store is shared with other threads.
  void SetCorruptionListener(CorruptionListener listener) { corruption_listener_ = std::move(listener); }
  // Replicas whose memory-mode data missed its flush deadline or failed to
  // flush (their disk is then failed). Runs on a flusher thread.
  // REQUIRES: called before the store is shared with other threads.
  void SetFlushFailureListener(MemoryFlusher::BadReplicaListener listener) {
    flusher_->SetListener(std::move(listener));
  }
  MemoryFlusher* flusher() { return flusher_.get(); }

  // Every replica, or (`trusted_only`) those not on a disk whose failure
  // puts its data in doubt: the ones to report to the master.
  std::vector<ReplicaState> ListReplicas(bool trusted_only = false) const;
  // Changes whenever a disk fails or a chunk lands on another disk than the
  // one asked for: the master's view of placement is then stale.
  uint64_t LayoutVersion() const;
  // Per-disk statistics (after checking that each disk's directory is still
  // there). A disk with less free space than the reserve is reported failed
  // ("full: ...") for as long as that lasts. `drain_latency`: the latency window restarts (the
  // heartbeat does this, once per interval); otherwise it is only read.
  std::vector<DiskReport> DiskReports(bool drain_latency = true);
  size_t disk_count() const { return disks_.size(); }
  // Per disk index, its identity (empty ids for a disk that could not be claimed).
  std::vector<DiskIdentity> DiskIdentities() const;
  // Joins every claimed disk to `cluster_id` (DiskClaim::AdoptCluster); a disk
  // of another cluster, or one whose identity cannot be written, is marked
  // failed with its replicas untrusted. Returns the first such refusal.
  Status AdoptCluster(const std::string& cluster_id);
  const ChunkStoreOptions& options() const { return options_; }

  // Brings failed disk `index` back into service, after checking that it is
  // the same disk (its IDENTITY is still the one claimed), that a probe
  // (4 KiB write + fdatasync) passes, that a disk failed for want of space
  // has its reserve free again, and, when its replicas were in doubt, that
  // each of them syncs and reads back whole against its CRCs (those that do
  // not are removed; the master copies them again). Then it rescans the
  // disk's chunks/ directory (files it did not load or was told to delete
  // while failed are loaded and reported; the master deletes the surplus).
  // The probe thread calls it after `disk_online_probes` passing probes in
  // a row, at most `disk_auto_online_max` times per disk; an operator
  // (`strata cluster disk --online`, `forced`) has no such limit. A refused
  // disk (another cluster's, or not claimed) is FailedPrecondition; a
  // healthy one is OK and untouched.
  Status ReturnDisk(uint32_t index, bool forced);

 private:
  ChunkStore(ChunkStoreOptions options, std::shared_ptr<FileSystem> fs, std::shared_ptr<Clock> clock,
             MetricsRegistry* metrics);
  // OK, or the disk's failure (it is marked); FailedPrecondition (another
  // process serves the disk) is returned without marking.
  Status ClaimDisk(Disk* disk, Random* rng);
  Status LoadDisk(Disk* disk);
  void CheckDisks();
  Status LoadOne(Disk* disk, const std::string& name);
  Result<std::shared_ptr<Replica>> Find(uint64_t chunk_id) const;
  Result<Disk*> ChooseDisk(uint32_t preferred);
  bool HasRoom(Disk* disk);
  bool HadRoomLastSeen(const Disk* disk) const;
  // Marks the disk failed on disk errors; returns `st`.
  Status Note(Disk* disk, Status st);
  // Note() for an operation on a replica: also counts and reports corruption.
  Status NoteReplica(uint64_t chunk_id, Disk* disk, Status st);
  Result<uint32_t> CreateExisting(const std::shared_ptr<Replica>& r, uint64_t epoch);
  // The prober's verdict on a failed disk (see ReturnDisk).
  void OnFailedDiskProbe(Disk* disk, const Status& probe);
  Status CheckSameDisk(Disk* disk) const;
  // Syncs and reads back each replica of `disk`; removes those that fail
  // their CRCs and returns how many. An I/O error stops it (the disk still
  // fails) and is returned.
  Result<size_t> VerifyReplicasOf(Disk* disk);

  const ChunkStoreOptions options_;
  CorruptionListener corruption_listener_;
  std::shared_ptr<FileSystem> fs_;
  std::shared_ptr<Clock> clock_;
  std::vector<std::unique_ptr<DiskClaim>> claims_;  // per disk, null if unclaimed; released last
  std::vector<std::unique_ptr<Disk>> disks_;
  std::unique_ptr<MemoryFlusher> flusher_;  // after disks_: stopped before they go
  std::unique_ptr<DiskProber> prober_;      // likewise
  std::mutex create_mu_;  // serialises Create
  mutable std::mutex mu_;
  std::map<uint64_t, std::shared_ptr<Replica>> replicas_;  // GUARDED_BY(mu_)
  std::atomic<uint64_t> created_elsewhere_{0};
  std::mutex return_mu_;  // serialises ReturnDisk
  struct ReturnState {
    uint64_t passes = 0;        // probes passed in a row while failed
    uint64_t auto_returns = 0;  // returns by the probe thread
    uint64_t failed_attempts = 0;  // automatic attempts in a row that failed
  };
  std::vector<ReturnState> returns_;  // GUARDED_BY(return_mu_); per disk
  Counter* appends_;
  Counter* append_bytes_;
  Counter* reads_;
  Counter* read_bytes_;
  Counter* corruptions_;
  Counter* crc_rejects_;
  Counter* return_removed_;
  Gauge* replicas_gauge_;
};

}  // namespace strata::dfs
