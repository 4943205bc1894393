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

// Longest prefix of `block` whose CRC32C is `want`; 0 when none.
size_t LongestPrefixWithCrc(std::string_view block, uint32_t want) {
  size_t best = 0;
  uint32_t crc = 0;
  for (size_t n = 1; n <= block.size(); ++n) {
    crc = n == 1 ? Crc32c(block.data(), 1) : Crc32cExtend(crc, block.data() + n - 1, 1);
    if (crc == want) best = n;
  }
  return best;
}

}  // namespace

Result<std::shared_ptr<Replica>> Replica::Load(FileSystem* fs, Clock* clock, Disk* disk, uint64_t chunk_id,
                                               uint64_t verify_window_bytes) {
  auto r = std::make_shared<Replica>(fs, clock, disk, chunk_id);
  ASSIGN_OR_RETURN(std::string meta_bytes, ReadWholeFile(fs, r->paths_.meta));
  ASSIGN_OR_RETURN(ChunkMeta meta, DecodeChunkMeta(meta_bytes));
  if (meta.chunk_id != chunk_id) {
    return Status::Corruption(r->paths_.meta + " names chunk " + ChunkIdHex(meta.chunk_id));
  }
  r->epoch_ = meta.epoch;
  RETURN_IF_ERROR(r->OpenForWrite());
  if (meta.sealed) {
    RETURN_IF_ERROR(r->LoadSealed(meta));
  } else {
    RETURN_IF_ERROR(r->RecoverTail(verify_window_bytes));
  }
  return r;
}

Status Replica::LoadSealed(const ChunkMeta& meta) {
  ASSIGN_OR_RETURN(uint64_t data_size, data_->Size());
  ASSIGN_OR_RETURN(uint64_t crc_size, crc_->Size());
  if (data_size < meta.sealed_length || crc_size < BlockCount(meta.sealed_length) * kCrcEntrySize) {
    return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + " sealed at " +
                              std::to_string(meta.sealed_length) + " but holds " + std::to_string(data_size) +
                              " bytes");
  }
  sealed_ = true;
  length_ = meta.sealed_length;
  if (length_ % kChunkBlockSize) {
    std::string entry(kCrcEntrySize, '\0');
    ASSIGN_OR_RETURN(size_t got, crc_->ReadAt((length_ / kChunkBlockSize) * kCrcEntrySize, entry.data(), entry.size()));
    if (got != entry.size()) return Status::Corruption("chunk " + ChunkIdHex(chunk_id_) + ": short .crc");
    tail_crc_ = GetU32(entry.data());
  }
  data_.reset();
  crc_.reset();
  return Status::Ok();
}

// Verifies the blocks of the last `verify_window_bytes` and keeps the longest
// prefix their CRC entries cover (see replica.h).
Status Replica::RecoverTail(uint64_t verify_window_bytes) {
  ASSIGN_OR_RETURN(uint64_t data_size, data_->Size());
  ASSIGN_OR_RETURN(uint64_t crc_size, crc_->Size());
  uint64_t entries = std::min(crc_size / kCrcEntrySize, BlockCount(data_size));
  uint64_t window_blocks = std::max<uint64_t>(1, BlockCount(verify_window_bytes));
  uint64_t first = entries > window_blocks ? entries - window_blocks : 0;
  uint64_t span_start = first * kChunkBlockSize;
  std::string span(std::min(data_size, entries * kChunkBlockSize) - span_start, '\0');
  ASSIGN_OR_RETURN(size_t got, data_->ReadAt(span_start, span.data(), span.size()));
  std::string crcs((entries - first) * kCrcEntrySize, '\0');
  ASSIGN_OR_RETURN(size_t got_crcs, crc_->ReadAt(first * kCrcEntrySize, crcs.data(), crcs.size()));
  span.resize(got);
  crcs.resize(got_crcs - got_crcs % kCrcEntrySize);

  uint64_t length = span_start;
  uint32_t tail = 0;
  for (uint64_t i = 0; i * kCrcEntrySize < crcs.size() && i * kChunkBlockSize < span.size(); ++i) {
    std::string_view block = std::string_view(span).substr(i * kChunkBlockSize, kChunkBlockSize);
    uint32_t want = GetU32(crcs.data() + i * kCrcEntrySize);
    if (block.size() == kChunkBlockSize && Crc32c(block.data(), block.size()) == want) {
      length += kChunkBlockSize;
      continue;
    }
    size_t prefix = LongestPrefixWithCrc(block, want);
    length += prefix;
    tail = prefix % kChunkBlockSize ? want : 0;
    break;
  }
  length_ = length;
  tail_crc_ = tail;
  return TrimTo(data_size, crc_size);
}

Status Replica::TrimTo(uint64_t data_size, uint64_t crc_size) {
  uint64_t want_crc_size = BlockCount(length_) * kCrcEntrySize;
  if (data_size == length_ && crc_size == want_crc_size) return Status::Ok();
  spdlog::warn("chunk {} on disk {}: recovered torn tail, {} data bytes kept of {}", ChunkIdHex(chunk_id_),
               disk_->index(), length_, data_size);
  RETURN_IF_ERROR(data_->Truncate(length_));
  RETURN_IF_ERROR(crc_->Truncate(want_crc_size));
  RETURN_IF_ERROR(data_->Sync());
  return crc_->Sync();
}

}  // namespace strata::dfs
