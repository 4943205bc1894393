#include "dfs/chunkserver/store/replica.h"

#include <algorithm>
#include <mutex>

#include "common/crc32c.h"

namespace strata::dfs {
namespace {

// Sync appends up to this size write zeros ahead of themselves, in steps of
// kPreallocateStep (see Replica::PreallocateLocked). Larger appends carry
// enough data per sync that the metadata update matters little, and writing
// zeros first would double their disk traffic.
constexpr uint64_t kPreallocateAppendMax = 32 << 10;
constexpr uint64_t kPreallocateStep = 1 << 20;

// Zeros to write from (zero-initialised static storage: only read, so it
// costs no memory of its own).
const char* ZeroBytes() {
  static const char zeros[kPreallocateStep] = {};
  return zeros;
}

}  // namespace

uint32_t ComputeCrcEntries(uint64_t offset, uint32_t tail_crc, std::string_view data, std::string* entries) {
  uint32_t crc = tail_crc;
  uint64_t in_block = offset % kChunkBlockSize;
  size_t i = 0;
  while (i < data.size()) {
    size_t n = std::min<size_t>(kChunkBlockSize - in_block, data.size() - i);
    crc = in_block ? Crc32cExtend(crc, data.data() + i, n) : Crc32c(data.data() + i, n);
    PutU32(entries, crc);
    in_block = (in_block + n) % kChunkBlockSize;
    i += n;
  }
  return in_block ? crc : 0;
}

Replica::Replica(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id)
    : fs_(fs), clock_(clock), disk_(disk), chunk_id_(chunk_id), paths_(PathsForChunk(disk->chunks_dir(), chunk_id)) {}

Result<std::shared_ptr<Replica>> Replica::Create(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id,
                                                 uint64_t epoch) {
  auto r = std::make_shared<Replica>(fs, clock, disk, chunk_id);
  ASSIGN_OR_RETURN(r->file_, fs->OpenFile(r->paths_.chunk, OpenMode::kCreate));
  RETURN_IF_ERROR(r->file_->Truncate(0));
  RETURN_IF_ERROR(r->WriteBothSlots(0, 0));
  RETURN_IF_ERROR(r->WriteMeta(ChunkMeta{chunk_id, epoch, false, 0}));
  r->epoch_ = epoch;
  r->PublishLocked();
  return r;
}

Status Replica::OpenForWrite() {
  ASSIGN_OR_RETURN(file_, fs_->OpenFile(paths_.chunk, OpenMode::kReadWrite));
  return Status::Ok();
}

Status Replica::WriteSlot(int index, const TailSlot& slot) {
  std::string bytes = EncodeTailSlot(slot);
  return file_->WriteAt(kSlotOffset[index], bytes.data(), bytes.size());
}

// Both slots get the same state (with increasing seqs), durably: after this
// no older state can be recovered.
Status Replica::WriteBothSlots(uint64_t length, uint32_t tail_crc) {
  RETURN_IF_ERROR(WriteSlot(0, TailSlot{seq_ + 1, length, tail_crc}));
  RETURN_IF_ERROR(WriteSlot(1, TailSlot{seq_ + 2, length, tail_crc}));
  RETURN_IF_ERROR(file_->Sync());
  seq_ += 2;
  active_slot_ = 1;
  durable_slot_ = 1;
  durable_length_ = length;
  return Status::Ok();
}

// The meta record is replaced atomically: write a temporary file, make it
// durable, rename it over the old one, make the rename durable.
Status Replica::WriteMeta(const ChunkMeta& meta) {
  std::string bytes = EncodeChunkMeta(meta);
  ASSIGN_OR_RETURN(auto file, fs_->OpenFile(paths_.meta_tmp, OpenMode::kCreate));
  RETURN_IF_ERROR(file->Truncate(0));
  RETURN_IF_ERROR(file->WriteAt(0, bytes.data(), bytes.size()));
  RETURN_IF_ERROR(file->Sync());
  file.reset();
  RETURN_IF_ERROR(fs_->Rename(paths_.meta_tmp, paths_.meta));
  return fs_->SyncDir(disk_->chunks_dir());
}

Status Replica::UpdateEpochLocked(uint64_t epoch) {
  RETURN_IF_ERROR(WriteMeta(ChunkMeta{chunk_id_, epoch, sealed_, sealed_ ? length_ : 0}));
  epoch_ = epoch;
  PublishLocked();
  return Status::Ok();
}

Status Replica::CheckLive() const {
  if (removed_) return Status::NotFound("chunk " + ChunkIdHex(chunk_id_) + " was deleted");
  return Status::Ok();
}

void Replica::PublishLocked() {
  std::lock_guard lock(published_mu_);
  published_ = ReplicaState{chunk_id_, disk_->index(), epoch_, length_, sealed_,
                            length_ > durable_length_ ? length_ - durable_length_ : 0, unsynced_since_us_};
  published_removed_ = removed_;
}

ReplicaState Replica::State() const {
  std::lock_guard lock(published_mu_);
  return published_;
}

bool Replica::removed() const {
  std::lock_guard lock(published_mu_);
  return published_removed_;
}

Result<uint64_t> Replica::Append(uint64_t epoch, uint64_t offset, std::string_view data, bool sync) {
  // A sync append waits for a flush in progress (whose slot it must not
  // overwrite); a memory append never waits for the disk.
  std::unique_lock flush_lock(flush_mu_, std::defer_lock);
  if (sync) flush_lock.lock();
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(CheckLive());
  if (epoch < epoch_) {
    return Status::StaleEpoch("chunk " + ChunkIdHex(chunk_id_) + ": append epoch " + std::to_string(epoch) +
                              " < replica epoch " + std::to_string(epoch_));
  }
  if (offset != length_ || sealed_) {
    RETURN_IF_ERROR(CheckRetry(offset, data));
    return length_;
  }
  if (epoch > epoch_) RETURN_IF_ERROR(UpdateEpochLocked(epoch));
  if (data.empty()) return length_;
  RETURN_IF_ERROR(disk_->CheckHealthy());
  RETURN_IF_ERROR(WriteAtEnd(data, sync));
  return length_;
}

Result<uint64_t> Replica::Flush() {
  std::lock_guard flush_lock(flush_mu_);
  return FlushHoldingFlushLock();
}

Result<uint64_t> Replica::FlushHoldingFlushLock() {
  std::shared_ptr<File> file;
  uint64_t target = 0;
  int slot = 0;
  uint64_t started_us = clock_->NowMicros();
  {
    std::unique_lock lock(mu_);
    RETURN_IF_ERROR(CheckLive());
    if (durable_length_ >= length_ || !file_) return uint64_t{0};
    // The last append wrote the non-durable slot with the current state.
    file = file_;
    target = length_;
    slot = active_slot_;
    slot_frozen_ = true;
  }
  // Everything written before this call started is durable when it returns.
  Status synced = file->Sync();
  std::unique_lock lock(mu_);
  slot_frozen_ = false;
  Status st = synced;
  uint64_t made_durable = 0;
  CacheRange drop;
  if (st.ok() && !removed_) {
    made_durable = target - durable_length_;
    durable_length_ = target;
    durable_slot_ = slot;
    unsynced_since_us_ = 0;
    drop = TakeDurableCacheToDropLocked();
    if (length_ > target) {
      // Appends made during the sync left the slots alone: record them in
      // the other slot now (so a process crash keeps them), unsynced.
      st = WriteSlot(1 - durable_slot_, TailSlot{seq_ + 1, length_, tail_crc_});
      if (st.ok()) {
        seq_++;
        active_slot_ = 1 - durable_slot_;
      }
      unsynced_since_us_ = started_us;
    }
  }
  PublishLocked();
  lock.unlock();
  // Outside the lock: appends served inline on the I/O threads do not wait
  // for the page cache walk.
  if (drop.bytes) file->DropCache(drop.offset, drop.bytes);
  RETURN_IF_ERROR(st);
  return made_durable;
}

Replica::CacheRange Replica::TakeDurableCacheToDropLocked() {
  constexpr uint64_t kDropBytesMin = 1 << 20;
  const uint64_t upto = durable_length_ / kChunkBlockSize * kChunkBlockSize;
  if (cache_dropped_ > upto) cache_dropped_ = upto;  // shortened by a seal
  if (upto - cache_dropped_ < kDropBytesMin) return {};
  CacheRange range{kDataOffset + cache_dropped_, upto - cache_dropped_};
  cache_dropped_ = upto;
  return range;
}

void Replica::DropDurableCacheLocked() {
  CacheRange range = TakeDurableCacheToDropLocked();
  if (range.bytes && file_) file_->DropCache(range.offset, range.bytes);
}

Status Replica::SyncLocked() {
  if (durable_length_ >= length_) return Status::Ok();
  RETURN_IF_ERROR(file_->Sync());
  durable_length_ = length_;
  durable_slot_ = active_slot_;
  unsynced_since_us_ = 0;
  DropDurableCacheLocked();
  PublishLocked();
  return Status::Ok();
}

// An append that does not start at the end is fine only as an exact retry.
Status Replica::CheckRetry(uint64_t offset, std::string_view data) {
  std::string where = "chunk " + ChunkIdHex(chunk_id_) + ": append at offset " + std::to_string(offset) +
                      " of " + std::to_string(data.size()) + " bytes";
  if (offset + data.size() <= length_) {
    std::string held;
    RETURN_IF_ERROR(ReadLocked(offset, data.size(), &held));
    if (held == data) return Status::Ok();
    return Status::OutOfRange(where + " differs from the bytes held; replica length=" + std::to_string(length_));
  }
  if (sealed_) {
    return Status::FailedPrecondition(where + ": chunk is sealed; replica length=" + std::to_string(length_));
  }
  return Status::OutOfRange(where + ": replica length=" + std::to_string(length_));
}

// Data, completed blocks' CRC entries and the other tail slot, then one
// fdatasync unless `sync` is false (see the header).
Status Replica::WriteAtEnd(std::string_view data, bool sync) {
  if (length_ + data.size() > kChunkLengthMax) {
    return Status::OutOfRange("chunk " + ChunkIdHex(chunk_id_) + ": appending " + std::to_string(data.size()) +
                              " bytes would pass the chunk length limit of 4 GiB; replica length=" +
                              std::to_string(length_));
  }
  uint64_t start_us = clock_->NowMicros();
  uint64_t new_length = length_ + data.size();
  if (sync && data.size() <= kPreallocateAppendMax && new_length > file_end_) PreallocateLocked(new_length);
  RETURN_IF_ERROR(file_->WriteAt(kDataOffset + length_, data.data(), data.size()));
  file_end_ = std::max(file_end_, new_length);
  std::string entries;
  uint32_t new_tail = ComputeCrcEntries(length_, tail_crc_, data, &entries);
  uint64_t completed = new_length / kChunkBlockSize - length_ / kChunkBlockSize;
  if (completed > 0) {
    uint64_t at = kCrcTableOffset + (length_ / kChunkBlockSize) * kCrcEntrySize;
    RETURN_IF_ERROR(file_->WriteAt(at, entries.data(), completed * kCrcEntrySize));
  }
  // Never over the durable slot; not at all while a flush syncs (see header).
  int next = 1 - durable_slot_;
  bool slot_written = !slot_frozen_;
  if (slot_written) RETURN_IF_ERROR(WriteSlot(next, TailSlot{seq_ + 1, new_length, new_tail}));
  if (sync) {
    // REQUIRES: flush_mu_ held (Append takes it), so no flush froze the slots.
    RETURN_IF_ERROR(file_->Sync());
    disk_->ObserveWrite(clock_->NowMicros() - start_us);
    durable_length_ = new_length;
    durable_slot_ = next;
    unsynced_since_us_ = 0;
    DropDurableCacheLocked();
  } else if (unsynced_since_us_ == 0) {
    unsynced_since_us_ = start_us;
  }
  length_ = new_length;
  tail_crc_ = new_tail;
  if (slot_written) {
    seq_++;
    active_slot_ = next;
  }
  PublishLocked();
  return Status::Ok();
}

void Replica::PreallocateLocked(uint64_t new_length) {
  if (preallocate_failed_) return;
  uint64_t target = std::min(new_length / kPreallocateStep * kPreallocateStep + kPreallocateStep, kChunkLengthMax);
  if (target <= file_end_) return;
  // CRC entries of blocks from the one holding file_end_ on: none of them is
  // complete yet (file_end_ >= length_), so none has an entry to lose.
  uint64_t first_entry = file_end_ / kChunkBlockSize;
  uint64_t entries_end = (target + kChunkBlockSize - 1) / kChunkBlockSize;
  Status st = file_->WriteAt(kCrcTableOffset + first_entry * kCrcEntrySize, ZeroBytes(),
                             (entries_end - first_entry) * kCrcEntrySize);
  for (uint64_t at = file_end_; st.ok() && at < target;) {
    uint64_t n = std::min(target - at, kPreallocateStep);
    st = file_->WriteAt(kDataOffset + at, ZeroBytes(), n);
    at += n;
  }
  if (!st.ok()) {
    // Only an optimisation: the append goes on and meets the disk's state
    // itself. Zeros that did land are past the length, trimmed like any.
    preallocate_failed_ = true;
    return;
  }
  file_end_ = target;
}

Status Replica::Read(uint64_t offset, uint64_t length, std::string* out) {
  std::shared_lock lock(mu_);
  RETURN_IF_ERROR(CheckLive());
  if (offset > length_) {
    return Status::OutOfRange("chunk " + ChunkIdHex(chunk_id_) + ": read at offset " + std::to_string(offset) +
                              " past replica length=" + std::to_string(length_));
  }
  return ReadLocked(offset, std::min(length, length_ - offset), out);
}

Status Replica::ReadLocked(uint64_t offset, uint64_t length, std::string* out) {
  out->clear();
  if (length == 0) return Status::Ok();
  std::unique_ptr<File> read_only;
  File* file = file_.get();
  if (!file) {
    ASSIGN_OR_RETURN(read_only, fs_->OpenFile(paths_.chunk, OpenMode::kRead));
    file = read_only.get();
  }
  uint64_t span_start = (offset / kChunkBlockSize) * kChunkBlockSize;
  uint64_t span_end = std::min(BlockCount(offset + length) * kChunkBlockSize, length_);
  std::string span;
  RETURN_IF_ERROR(ReadVerified(file, span_start, span_end, tail_crc_, &span));
  out->assign(span, offset - span_start, length);
  return Status::Ok();
}

// REQUIRES: `offset` is block-aligned; `end` is the replica's length or a
// block boundary.
Status Replica::ReadVerified(File* file, uint64_t offset, uint64_t end, uint32_t tail_crc, std::string* out) const {
  out->assign(end - offset, '\0');
  ASSIGN_OR_RETURN(size_t got, file->ReadAt(kDataOffset + offset, out->data(), out->size()));
  uint64_t first_block = offset / kChunkBlockSize;
  uint64_t full_blocks = end / kChunkBlockSize - first_block;
  std::string crcs(full_blocks * kCrcEntrySize, '\0');
  ASSIGN_OR_RETURN(size_t got_crcs,
                   file->ReadAt(kCrcTableOffset + first_block * kCrcEntrySize, crcs.data(), crcs.size()));
  if (got != out->size() || got_crcs != crcs.size()) {
    return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": file shorter than the length " +
                              std::to_string(end) + " it should hold");
  }
  for (uint64_t i = 0; i * kChunkBlockSize < out->size(); ++i) {
    std::string_view block = std::string_view(*out).substr(i * kChunkBlockSize, kChunkBlockSize);
    uint32_t want = i < full_blocks ? GetU32(crcs.data() + i * kCrcEntrySize) : tail_crc;
    if (Crc32c(block.data(), block.size()) != want) {
      uint64_t block_index = first_block + i;
      return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": CRC mismatch in block " +
                                std::to_string(block_index) + " (offset " +
                                std::to_string(block_index * kChunkBlockSize) + ") on disk " +
                                std::to_string(disk_->index()));
    }
  }
  return Status::Ok();
}

Result<uint64_t> Replica::Seal(uint64_t epoch, uint64_t length) {
  if (!disk_->readable()) return disk_->CheckHealthy();  // a failed disk may hang: do not wait on it
  // Memory-mode appends become durable first, without holding the lock
  // while the disk works; what comes in meanwhile is synced below.
  std::lock_guard flush_lock(flush_mu_);
  RETURN_IF_ERROR(FlushHoldingFlushLock().status());
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(CheckLive());
  std::string where = "chunk " + ChunkIdHex(chunk_id_) + ": seal at " + std::to_string(length);
  if (epoch < epoch_) {
    return Status::StaleEpoch(where + ": epoch " + std::to_string(epoch) + " < replica epoch " +
                              std::to_string(epoch_));
  }
  if (sealed_) {
    if (length != length_) {
      return Status::FailedPrecondition(where + ": already sealed at length=" + std::to_string(length_));
    }
    if (epoch > epoch_) RETURN_IF_ERROR(UpdateEpochLocked(epoch));
    return length_;
  }
  if (length > length_) {
    return Status::OutOfRange(where + ": replica is shorter, length=" + std::to_string(length_));
  }
  // Shorter, or zeros written ahead: the sealed file holds the data only.
  if (length < length_ || file_end_ > length) RETURN_IF_ERROR(TruncateLocked(length));
  RETURN_IF_ERROR(SyncLocked());  // memory-mode appends become durable before the seal
  RETURN_IF_ERROR(WriteMeta(ChunkMeta{chunk_id_, std::max(epoch, epoch_), true, length}));
  epoch_ = std::max(epoch, epoch_);
  sealed_ = true;
  file_.reset();
  PublishLocked();
  return length_;
}

// Drops everything past `length`; the block that now ends the replica is
// verified and its remaining prefix gets a new tail CRC. The slots change
// first, so a crash in between leaves bytes past the slots' length, which
// recovery trims.
Status Replica::TruncateLocked(uint64_t length) {
  uint32_t new_tail = 0;
  uint64_t partial = length % kChunkBlockSize;
  if (partial) {
    uint64_t block_start = length - partial;
    std::string block;
    RETURN_IF_ERROR(ReadLocked(block_start, std::min(length_, block_start + kChunkBlockSize) - block_start, &block));
    new_tail = Crc32c(block.data(), partial);
  }
  RETURN_IF_ERROR(WriteBothSlots(length, new_tail));
  RETURN_IF_ERROR(file_->Truncate(kDataOffset + length));
  RETURN_IF_ERROR(file_->Sync());
  length_ = length;
  file_end_ = length;
  unsynced_since_us_ = 0;
  tail_crc_ = new_tail;
  PublishLocked();
  return Status::Ok();
}

// The meta goes first: a crash midway leaves files without meta, which the
// next startup removes as debris.
Status Replica::Remove() {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(CheckLive());
  removed_ = true;
  PublishLocked();
  file_.reset();
  for (const std::string* path : {&paths_.meta, &paths_.chunk}) {
    Status st = fs_->RemoveFile(*path);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  return Status::Ok();
}

}  // namespace strata::dfs
