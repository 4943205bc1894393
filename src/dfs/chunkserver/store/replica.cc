#include "dfs/chunkserver/store/replica.h"

#include <algorithm>
#include <mutex>

#include "common/crc32c.h"

namespace strata::dfs {

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
  RETURN_IF_ERROR(r->OpenForWrite());
  RETURN_IF_ERROR(r->data_->Truncate(0));
  RETURN_IF_ERROR(r->crc_->Truncate(0));
  RETURN_IF_ERROR(r->WriteMeta(ChunkMeta{chunk_id, epoch, false, 0}));
  r->epoch_ = epoch;
  return r;
}

Status Replica::OpenForWrite() {
  ASSIGN_OR_RETURN(data_, fs_->OpenFile(paths_.data, OpenMode::kCreate));
  ASSIGN_OR_RETURN(crc_, fs_->OpenFile(paths_.crc, OpenMode::kCreate));
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
  return Status::Ok();
}

Status Replica::CheckLive() const {
  if (removed_) return Status::NotFound("chunk " + ChunkIdHex(chunk_id_) + " was deleted");
  return Status::Ok();
}

ReplicaState Replica::State() const {
  std::shared_lock lock(mu_);
  return ReplicaState{chunk_id_, disk_->index(), epoch_, length_, sealed_};
}

Result<uint64_t> Replica::Append(uint64_t epoch, uint64_t offset, std::string_view data) {
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
  RETURN_IF_ERROR(WriteAtEnd(data));
  return length_;
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

// .data first, durable; then the CRCs that cover it (see the header).
Status Replica::WriteAtEnd(std::string_view data) {
  uint64_t start_us = clock_->NowMicros();
  RETURN_IF_ERROR(data_->WriteAt(length_, data.data(), data.size()));
  RETURN_IF_ERROR(data_->Sync());
  std::string entries;
  uint32_t new_tail = ComputeCrcEntries(length_, tail_crc_, data, &entries);
  uint64_t crc_offset = (length_ / kChunkBlockSize) * kCrcEntrySize;
  RETURN_IF_ERROR(crc_->WriteAt(crc_offset, entries.data(), entries.size()));
  RETURN_IF_ERROR(crc_->Sync());
  disk_->ObserveWrite(clock_->NowMicros() - start_us);
  length_ += data.size();
  tail_crc_ = new_tail;
  return Status::Ok();
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
  uint64_t first_block = offset / kChunkBlockSize;
  uint64_t last_block = (offset + length - 1) / kChunkBlockSize;
  uint64_t span_start = first_block * kChunkBlockSize;
  uint64_t span_end = std::min((last_block + 1) * kChunkBlockSize, length_);
  std::unique_ptr<File> data_tmp, crc_tmp;
  File* data = data_.get();
  File* crc = crc_.get();
  if (!data) {
    ASSIGN_OR_RETURN(data_tmp, fs_->OpenFile(paths_.data, OpenMode::kRead));
    ASSIGN_OR_RETURN(crc_tmp, fs_->OpenFile(paths_.crc, OpenMode::kRead));
    data = data_tmp.get();
    crc = crc_tmp.get();
  }
  std::string span(span_end - span_start, '\0');
  ASSIGN_OR_RETURN(size_t got, data->ReadAt(span_start, span.data(), span.size()));
  std::string crcs((last_block - first_block + 1) * kCrcEntrySize, '\0');
  ASSIGN_OR_RETURN(size_t got_crcs, crc->ReadAt(first_block * kCrcEntrySize, crcs.data(), crcs.size()));
  if (got != span.size() || got_crcs != crcs.size()) {
    return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": files shorter than replica length=" +
                              std::to_string(length_));
  }
  RETURN_IF_ERROR(VerifyBlocks(first_block, span, crcs));
  out->assign(span, offset - span_start, length);
  return Status::Ok();
}

// The partial last block is checked against the in-memory tail CRC.
Status Replica::VerifyBlocks(uint64_t first_block, std::string_view span, std::string_view crcs) const {
  for (size_t i = 0; i * kChunkBlockSize < span.size(); ++i) {
    std::string_view block = span.substr(i * kChunkBlockSize, kChunkBlockSize);
    uint64_t block_index = first_block + i;
    bool is_tail = block.size() < kChunkBlockSize;
    uint32_t want = is_tail ? tail_crc_ : GetU32(crcs.data() + i * kCrcEntrySize);
    if (Crc32c(block.data(), block.size()) != want) {
      return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": CRC mismatch in block " +
                                std::to_string(block_index) + " (offset " +
                                std::to_string(block_index * kChunkBlockSize) + ") on disk " +
                                std::to_string(disk_->index()));
    }
  }
  return Status::Ok();
}

Result<uint64_t> Replica::Seal(uint64_t epoch, uint64_t length) {
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
  if (length < length_) RETURN_IF_ERROR(TruncateLocked(length));
  RETURN_IF_ERROR(WriteMeta(ChunkMeta{chunk_id_, std::max(epoch, epoch_), true, length}));
  epoch_ = std::max(epoch, epoch_);
  sealed_ = true;
  data_.reset();
  crc_.reset();
  return length_;
}

// Drops everything past `length`; the block that now ends the replica is
// verified and gets the CRC of its remaining prefix.
Status Replica::TruncateLocked(uint64_t length) {
  uint32_t new_tail = 0;
  uint64_t partial = length % kChunkBlockSize;
  uint64_t block_start = length - partial;
  if (partial) {
    std::string block;
    RETURN_IF_ERROR(ReadLocked(block_start, std::min(length_, block_start + kChunkBlockSize) - block_start, &block));
    new_tail = Crc32c(block.data(), partial);
  }
  RETURN_IF_ERROR(data_->Truncate(length));
  RETURN_IF_ERROR(crc_->Truncate(BlockCount(length) * kCrcEntrySize));
  if (partial) {
    std::string entry;
    PutU32(&entry, new_tail);
    RETURN_IF_ERROR(crc_->WriteAt((length / kChunkBlockSize) * kCrcEntrySize, entry.data(), entry.size()));
  }
  RETURN_IF_ERROR(data_->Sync());
  RETURN_IF_ERROR(crc_->Sync());
  length_ = length;
  tail_crc_ = new_tail;
  return Status::Ok();
}

// The meta goes first: a crash midway leaves files without meta, which the
// next startup removes as debris.
Status Replica::Remove() {
  std::unique_lock lock(mu_);
  RETURN_IF_ERROR(CheckLive());
  removed_ = true;
  data_.reset();
  crc_.reset();
  for (const std::string* path : {&paths_.meta, &paths_.data, &paths_.crc}) {
    Status st = fs_->RemoveFile(*path);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  }
  return Status::Ok();
}

}  // namespace strata::dfs
