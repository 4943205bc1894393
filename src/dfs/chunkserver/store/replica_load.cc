// Replica::Load: opening a replica at startup and recovering a torn tail.
#include <algorithm>

#include "common/crc32c.h"
#include "common/logging.h"
#include "dfs/chunkserver/store/replica.h"

namespace strata::dfs {
namespace {

Result<std::string> ReadWholeFile(FileSystem* fs, const std::string& path) {
  ASSIGN_OR_RETURN(auto file, fs->OpenFile(path, OpenMode::kRead));
  ASSIGN_OR_RETURN(uint64_t size, file->Size());
  std::string bytes(size, '\0');
  ASSIGN_OR_RETURN(size_t got, file->ReadAt(0, bytes.data(), bytes.size()));
  bytes.resize(got);
  return bytes;
}

}  // namespace

Result<std::shared_ptr<Replica>> Replica::Load(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id) {
  auto r = std::make_shared<Replica>(fs, clock, disk, chunk_id);
  ASSIGN_OR_RETURN(std::string meta_bytes, ReadWholeFile(fs, r->paths_.meta));
  ASSIGN_OR_RETURN(ChunkMeta meta, DecodeChunkMeta(meta_bytes));
  if (meta.chunk_id != chunk_id) {
    return Status::Corruption(r->paths_.meta + " names chunk " + ChunkIdHex(meta.chunk_id));
  }
  r->epoch_ = meta.epoch;
  Status opened = r->OpenForWrite();
  if (opened.code() == StatusCode::kNotFound) return Status::Corruption(opened.message());
  RETURN_IF_ERROR(opened);
  ASSIGN_OR_RETURN(std::vector<TailSlot> slots, r->ReadSlots());
  if (meta.sealed) {
    RETURN_IF_ERROR(r->LoadSealed(meta, slots));
  } else {
    RETURN_IF_ERROR(r->RecoverTail(slots));
  }
  r->PublishLocked();
  return r;
}

// The valid slots, newest first.
Result<std::vector<TailSlot>> Replica::ReadSlots() {
  std::string header(kSlotOffset[1] + kSlotSize, '\0');
  ASSIGN_OR_RETURN(size_t got, file_->ReadAt(0, header.data(), header.size()));
  header.resize(got);
  std::vector<TailSlot> slots;
  for (uint64_t at : kSlotOffset) {
    if (at >= header.size()) continue;
    auto slot = DecodeTailSlot(std::string_view(header).substr(at));
    if (slot.ok()) slots.push_back(*slot);
  }
  std::sort(slots.begin(), slots.end(), [](const TailSlot& a, const TailSlot& b) { return a.seq > b.seq; });
  for (size_t i = 0; i < slots.size(); ++i) seq_ = std::max(seq_, slots[i].seq);
  return slots;
}

Status Replica::LoadSealed(const ChunkMeta& meta, const std::vector<TailSlot>& slots) {
  ASSIGN_OR_RETURN(uint64_t file_size, file_->Size());
  uint64_t data_size = file_size > kDataOffset ? file_size - kDataOffset : 0;
  auto slot = std::find_if(slots.begin(), slots.end(),
                           [&](const TailSlot& s) { return s.length == meta.sealed_length; });
  if (slot == slots.end() || data_size < meta.sealed_length) {
    return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + " sealed at " +
                              std::to_string(meta.sealed_length) + " but holds " + std::to_string(data_size) +
                              " bytes or no tail slot of that length");
  }
  sealed_ = true;
  length_ = meta.sealed_length;
  durable_length_ = length_;  // synced before the seal
  tail_crc_ = slot->tail_crc;
  file_.reset();
  return Status::Ok();
}

// Takes the newest slot whose claim the data backs, else the older one
// (see replica.h), trims what lies past it and rewrites both slots.
Status Replica::RecoverTail(const std::vector<TailSlot>& slots) {
  ASSIGN_OR_RETURN(uint64_t file_size, file_->Size());
  uint64_t data_size = file_size > kDataOffset ? file_size - kDataOffset : 0;
  const TailSlot* chosen = nullptr;
  for (size_t i = 0; i < slots.size() && !chosen; ++i) {
    // The newest state is checked back to where the older one ended; an
    // older state was durable before a newer slot was written: only its
    // partial block needs a look.
    uint64_t from = slots[i].length;
    if (i == 0 && slots.size() > 1) from = std::min(from, slots[1].length);
    from = (from / kChunkBlockSize) * kChunkBlockSize;
    Status st = VerifyClaim(from, slots[i], data_size);
    if (st.ok()) {
      chosen = &slots[i];
    } else {
      spdlog::warn("chunk {} on disk {}: tail slot (length {}) not backed by the data: {}", ChunkIdHex(chunk_id_),
                   disk_->index(), slots[i].length, st.ToString());
    }
  }
  if (!chosen) return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": no tail slot matches the data");
  length_ = chosen->length;
  tail_crc_ = chosen->tail_crc;
  if (data_size > length_) {
    spdlog::warn("chunk {} on disk {}: recovered torn tail, {} data bytes kept of {}", ChunkIdHex(chunk_id_),
                 disk_->index(), length_, data_size);
    RETURN_IF_ERROR(file_->Truncate(kDataOffset + length_));
  }
  file_end_ = length_;
  return WriteBothSlots(length_, tail_crc_);  // syncs the file: all of it is durable now
}

Status Replica::VerifyClaim(uint64_t from, const TailSlot& slot, uint64_t data_size) {
  if (slot.length > kChunkLengthMax) return Status::Corruption("slot length past the chunk limit");
  if (data_size < slot.length) {
    return Status::Corruption("slot claims " + std::to_string(slot.length) + " bytes, file holds " +
                              std::to_string(data_size));
  }
  std::string span;
  return ReadVerified(file_.get(), from, slot.length, slot.tail_crc, &span);
}

}  // namespace strata::dfs
