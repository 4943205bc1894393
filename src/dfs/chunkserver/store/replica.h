// Replica: one chunk replica on one disk (files described in chunk_format.h).
//
// Appends land only at exactly the current length (the chasing write of
// DESIGN.md §2): a retry of bytes already held is acknowledged without
// writing, anything else at a wrong offset is OutOfRange. Every append is
// durable before it returns, with a single fdatasync: the data, the CRC
// entries of the 4 KiB blocks it completes and the new tail slot (length and
// CRC of the partial last block, extended incrementally since CRC32C is a
// running checksum) are written, then the file is synced. The tail slots
// alternate, so the slot of the last acknowledged state survives a crash in
// the middle of the next append.
//
// An append in `memory` durability skips the fdatasync: it is acknowledged
// once it is in the page cache (it survives the death of the process, not of
// the machine) until Flush() (run by the MemoryFlusher), a later sync-mode
// append or a seal makes it durable. The slot holding the newest *durable*
// state is never overwritten by an unsynced one: appends write the other
// slot, and a flush makes that slot the durable one. During a flush's
// fdatasync (taken outside the lock, so appends go on) appends write data
// and CRCs but not the slot, which the flush then brings up to date; a
// process crash within that one-sync window trims those appends from this
// replica (the other replicas hold them), a power loss at any time trims
// the replica to its last durable state.
//
// Crash recovery (Load): of the two slots, the newest valid one is taken if
// the data it claims is all there and matches its CRCs (only the blocks of the
// last append need checking: everything before was durable when the older
// slot was written); otherwise the older one, which describes the previous,
// acknowledged state. Bytes past the chosen length are trimmed and both slots
// are rewritten with the chosen state. Sealed replicas take their length from
// the meta record.
//
// Thread-safety: thread-safe. Reads share a lock; appends, seals and removal
// take it exclusively, so a reader never sees a half-applied append. State()
// and chunk_id() never wait for that lock (nor so for the disk): every change
// publishes a copy of the state under a separate small mutex, so heartbeats,
// reports and the flush watchdog go on while a hung disk holds an operation.
// Ownership: owned through shared_ptr by the ChunkStore; borrows the
// FileSystem, Clock and Disk, which outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dfs/chunkserver/store/chunk_format.h"
#include "dfs/chunkserver/store/disk.h"
#include "env/clock.h"
#include "env/file_system.h"

namespace strata::dfs {

struct ReplicaState {
  uint64_t chunk_id = 0;
  uint32_t disk = 0;
  uint64_t epoch = 0;
  uint64_t length = 0;
  bool sealed = false;
  uint64_t unsynced_bytes = 0;     // acknowledged in memory mode, not yet synced
  uint64_t unsynced_since_us = 0;  // clock time of the oldest of those (0: none)
};

class Replica {
 public:
  Replica(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id);

  // Creates the files of a new, empty, unsealed replica.
  static Result<std::shared_ptr<Replica>> Create(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id,
                                                 uint64_t epoch);
  // Opens an existing replica, recovering a torn tail (see above).
  static Result<std::shared_ptr<Replica>> Load(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id);

  // Appends `data` at `offset` (REQUIRES: its CRC was verified by the caller),
  // synced before returning unless `sync` is false (memory durability).
  // Returns the replica's length afterwards.
  Result<uint64_t> Append(uint64_t epoch, uint64_t offset, std::string_view data, bool sync = true);
  // Makes every append acknowledged so far durable (one fdatasync, taken
  // outside the lock). Returns the bytes it made durable; NotFound once
  // removed.
  Result<uint64_t> Flush();
  // Reads up to `length` bytes at `offset` (fewer at the end of the replica),
  // verifying every touched block; Corruption on a CRC mismatch.
  Status Read(uint64_t offset, uint64_t length, std::string* out);
  // Truncates to `length` and seals. Idempotent at the same length.
  Result<uint64_t> Seal(uint64_t epoch, uint64_t length);
  // Deletes the files; later operations fail with NotFound.
  Status Remove();

  ReplicaState State() const;
  uint64_t chunk_id() const { return chunk_id_; }
  bool removed() const;
  Disk* disk() const { return disk_; }

 private:
  // REQUIRES: mu_ held (either way) or the replica not yet shared.
  void PublishLocked();
  Status WriteMeta(const ChunkMeta& meta);
  Status UpdateEpochLocked(uint64_t epoch);
  Status OpenForWrite();
  Result<std::vector<TailSlot>> ReadSlots();
  Status WriteSlot(int index, const TailSlot& slot);
  Status WriteBothSlots(uint64_t length, uint32_t tail_crc);
  Status LoadSealed(const ChunkMeta& meta, const std::vector<TailSlot>& slots);
  Status RecoverTail(const std::vector<TailSlot>& slots);
  Status VerifyClaim(uint64_t from, const TailSlot& slot, uint64_t data_size);
  Status CheckLive() const;
  Status CheckRetry(uint64_t offset, std::string_view data);
  Status WriteAtEnd(std::string_view data, bool sync);
  // Before a small sync append that would grow the file: writes zeros over
  // the next 1 MiB of data and the CRC entries that will cover it. The sync
  // of this append allocates those blocks once; the appends after it
  // overwrite allocated blocks, and their fdatasync writes no metadata (no
  // size or block change: no journal commit, no inode write) - the difference
  // between a local write+fdatasync into a new file and into an existing
  // one. Zeros past the length are trimmed by a seal and by recovery.
  // REQUIRES: mu_ held exclusively.
  void PreallocateLocked(uint64_t new_length);
  // REQUIRES: flush_mu_ held.
  Result<uint64_t> FlushHoldingFlushLock();
  // REQUIRES: flush_mu_ and mu_ (exclusively) held, the replica unsealed.
  Status SyncLocked();
  // After a sync: advises the whole blocks of durable data not yet dropped
  // out of the page cache, once there is at least 1 MiB of them. The
  // partial last block stays cached: the next append completes it.
  // REQUIRES: mu_ held.
  void DropDurableCacheLocked();
  // The same, for a caller that drops the range itself after unlocking.
  struct CacheRange {
    uint64_t offset = 0;  // file offset
    uint64_t bytes = 0;   // 0: nothing to drop
  };
  CacheRange TakeDurableCacheToDropLocked();
  Status TruncateLocked(uint64_t length);
  Status ReadLocked(uint64_t offset, uint64_t length, std::string* out);
  // Reads chunk bytes [offset, end) and checks them against the CRC table,
  // the last block against `tail_crc` when it is partial.
  Status ReadVerified(File* file, uint64_t offset, uint64_t end, uint32_t tail_crc, std::string* out) const;

  FileSystem* const fs_;
  Clock* const clock_;
  Disk* const disk_;
  const uint64_t chunk_id_;
  const ChunkPaths paths_;

  mutable std::shared_mutex mu_;
  uint64_t epoch_ = 0;         // GUARDED_BY(mu_)
  uint64_t length_ = 0;        // GUARDED_BY(mu_)
  bool sealed_ = false;        // GUARDED_BY(mu_)
  bool removed_ = false;       // GUARDED_BY(mu_)
  uint32_t tail_crc_ = 0;      // GUARDED_BY(mu_); CRC of the partial last block
  uint64_t seq_ = 0;           // GUARDED_BY(mu_); seq of the slot holding the current state
  int active_slot_ = 0;        // GUARDED_BY(mu_); which slot holds the newest written state
  std::shared_ptr<File> file_; // GUARDED_BY(mu_); open while unsealed
  mutable std::mutex published_mu_;
  ReplicaState published_;     // GUARDED_BY(published_mu_); see State()
  bool published_removed_ = false;  // GUARDED_BY(published_mu_)
  // Memory durability (see above). flush_mu_ serializes flushes, seals and
  // sync appends of this replica; it is taken before mu_, never after.
  std::mutex flush_mu_;
  uint64_t durable_length_ = 0;    // GUARDED_BY(mu_); state of durable_slot_, on disk for sure
  int durable_slot_ = 1;           // GUARDED_BY(mu_); never overwritten while it is the durable one
  bool slot_frozen_ = false;       // GUARDED_BY(mu_); a flush is syncing: appends leave the slots
  uint64_t unsynced_since_us_ = 0; // GUARDED_BY(mu_); see ReplicaState
  // Drop-behind: durable data below this chunk offset was advised out of
  // the page cache, so that new appends reuse those pages instead of taking
  // fresh ones (see DropDurableCacheLocked).
  uint64_t cache_dropped_ = 0;     // GUARDED_BY(mu_)
  // Data bytes the .chunk file holds past kDataOffset: length_, plus the
  // zeros written ahead for small sync appends (see PreallocateLocked).
  uint64_t file_end_ = 0;          // GUARDED_BY(mu_)
  bool preallocate_failed_ = false;  // GUARDED_BY(mu_); stop trying (e.g. disk full)
};

// CRC entries (little-endian u32 each) for `data` appended at `offset` to a
// replica whose partial last block has CRC `tail_crc`; returns the new tail
// CRC (0 when the data ends on a block boundary).
uint32_t ComputeCrcEntries(uint64_t offset, uint32_t tail_crc, std::string_view data, std::string* entries);

}  // namespace strata::dfs
