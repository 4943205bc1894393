// SegmentIndex: where each block of a segment was last written, as extents.
//
// The map is keyed by the first block of each extent; extents never overlap.
// An extent is a run of blocks written by one log record: for a plain record
// its blocks lie contiguously in the data file from `data_offset`; for a
// compressed one the whole payload (at `data_offset`, `payload_len` bytes) is
// read and decompressed, and the extent starts at block `block_delta` of the
// record. A block with no extent was never written or was trimmed: it reads
// as zeros and is reported as a hole.
//
// Set() and Erase() split the extents they overlap, so a 4 KiB overwrite in
// the middle of a 1 MiB extent costs two extents, not a copy. Live blocks
// are counted per data file, so garbage collection knows which files are
// mostly dead without a scan.
//
// Memory: one std::map node (~80 bytes) per extent; a segment written by
// random 4 KiB writes holds one extent per block.
//
// Thread-safety: not thread-safe; the Segment guards it with its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata::block {

struct IndexExtent {
  uint32_t count = 0;         // blocks
  uint32_t file = 0;          // data file sequence number
  uint64_t data_offset = 0;   // plain: offset of the first block; compressed: of the payload
  uint32_t payload_len = 0;   // compressed only: bytes of the record's payload
  uint32_t block_delta = 0;   // compressed only: first block of this extent inside the record
  uint32_t record_blocks = 0; // compressed only: blocks in the record
  uint32_t record_crc = 0;    // compressed only: raw_crc of the record
  bool compressed = false;

  // The same location advanced by `blocks` blocks (the tail after a split).
  IndexExtent Advanced(uint64_t blocks, uint32_t block_size) const;
  // The bytes of its data file these blocks take: their share of a
  // compressed record's payload.
  uint64_t StoredBytes(uint32_t block_size) const;
  bool operator==(const IndexExtent&) const = default;
};

// One piece of a lookup: `count` blocks from `block`, written (extent set)
// or not.
struct IndexPiece {
  uint64_t block = 0;
  uint64_t count = 0;
  bool written = false;
  IndexExtent extent;  // when written: advanced to `block`, `count` long
};

class SegmentIndex {
 public:
  explicit SegmentIndex(uint32_t block_size = 4096) : block_size_(block_size) {}

  // Points blocks [block, block + e.count) at `e`.
  void Set(uint64_t block, const IndexExtent& e);
  // Forgets blocks [block, block + count).
  void Erase(uint64_t block, uint64_t count);
  // Covers [block, block + count) with pieces in order.
  std::vector<IndexPiece> Lookup(uint64_t block, uint64_t count) const;
  // Every extent of data file `file`, as (first block, extent).
  void ForEachInFile(uint32_t file, const std::function<void(uint64_t, const IndexExtent&)>& fn) const;

  uint64_t live_blocks() const { return live_blocks_; }
  uint64_t live_blocks_in(uint32_t file) const;
  // The bytes of data file `file` that live blocks take (compressed ones
  // by their share of their record), headers not included.
  uint64_t live_stored_bytes_in(uint32_t file) const;
  const std::map<uint32_t, uint64_t>& live_by_file() const { return live_by_file_; }
  size_t extent_count() const { return extents_.size(); }
  uint32_t block_size() const { return block_size_; }

  // The checkpoint form (docs/block_formats.md): a count and the extents.
  void Serialize(std::string* out) const;
  static Result<SegmentIndex> Parse(std::string_view bytes, uint32_t block_size);

  bool operator==(const SegmentIndex& o) const { return extents_ == o.extents_; }

 private:
  void Account(const IndexExtent& e, int64_t sign);

  uint32_t block_size_;
  std::map<uint64_t, IndexExtent> extents_;
  std::map<uint32_t, uint64_t> live_by_file_;
  std::map<uint32_t, uint64_t> live_stored_by_file_;
  uint64_t live_blocks_ = 0;
};

}  // namespace strata::block
