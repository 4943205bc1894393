#include "block/server/segment_index.h"

#include <cstring>

namespace strata::block {
namespace {

constexpr size_t kExtentBytes = 8 + 4 + 4 + 8 + 4 + 4 + 4 + 4 + 1;

template <typename T>
void PutRaw(std::string* out, T v) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
T GetRaw(const char*& p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

}  // namespace

IndexExtent IndexExtent::Advanced(uint64_t blocks, uint32_t block_size) const {
  IndexExtent e = *this;
  e.count = static_cast<uint32_t>(count - blocks);
  if (compressed) {
    e.block_delta = static_cast<uint32_t>(block_delta + blocks);
  } else {
    e.data_offset = data_offset + blocks * block_size;
  }
  return e;
}

uint64_t IndexExtent::StoredBytes(uint32_t block_size) const {
  if (!compressed) return uint64_t{count} * block_size;
  return record_blocks == 0 ? 0 : uint64_t{payload_len} * count / record_blocks;
}

void SegmentIndex::Account(const IndexExtent& e, int64_t sign) {
  live_blocks_ += static_cast<uint64_t>(sign * static_cast<int64_t>(e.count));
  uint64_t& n = live_by_file_[e.file];
  n += static_cast<uint64_t>(sign * static_cast<int64_t>(e.count));
  // The same extent is added and later subtracted, so the stored bytes of
  // a file are exactly the sum over its extents now.
  uint64_t& stored = live_stored_by_file_[e.file];
  stored += static_cast<uint64_t>(sign * static_cast<int64_t>(e.StoredBytes(block_size_)));
  if (n == 0) {
    live_by_file_.erase(e.file);
    live_stored_by_file_.erase(e.file);
  }
}

void SegmentIndex::Erase(uint64_t block, uint64_t count) {
  if (count == 0) return;
  uint64_t end = block + count;
  auto it = extents_.upper_bound(block);
  if (it != extents_.begin()) --it;
  while (it != extents_.end() && it->first < end) {
    uint64_t s = it->first;
    IndexExtent e = it->second;
    uint64_t e_end = s + e.count;
    if (e_end <= block) {
      ++it;
      continue;
    }
    it = extents_.erase(it);
    Account(e, -1);
    if (s < block) {  // keep the head
      IndexExtent head = e;
      head.count = static_cast<uint32_t>(block - s);
      extents_.emplace(s, head);
      Account(head, +1);
    }
    if (e_end > end) {  // keep the tail
      IndexExtent tail = e.Advanced(end - s, block_size_);
      it = extents_.emplace(end, tail).first;
      Account(tail, +1);
      break;
    }
  }
}

void SegmentIndex::Set(uint64_t block, const IndexExtent& e) {
  if (e.count == 0) return;
  Erase(block, e.count);
  extents_.emplace(block, e);
  Account(e, +1);
}

std::vector<IndexPiece> SegmentIndex::Lookup(uint64_t block, uint64_t count) const {
  std::vector<IndexPiece> pieces;
  uint64_t pos = block, end = block + count;
  auto it = extents_.upper_bound(block);
  if (it != extents_.begin()) --it;
  while (pos < end) {
    while (it != extents_.end() && it->first + it->second.count <= pos) ++it;
    if (it == extents_.end() || it->first >= end) {
      pieces.push_back({pos, end - pos, false, {}});
      break;
    }
    if (it->first > pos) {
      pieces.push_back({pos, it->first - pos, false, {}});
      pos = it->first;
    }
    uint64_t piece_end = std::min(end, it->first + it->second.count);
    IndexExtent e = it->second.Advanced(pos - it->first, block_size_);
    e.count = static_cast<uint32_t>(piece_end - pos);
    pieces.push_back({pos, piece_end - pos, true, e});
    pos = piece_end;
    ++it;
  }
  return pieces;
}

void SegmentIndex::ForEachInFile(uint32_t file, const std::function<void(uint64_t, const IndexExtent&)>& fn) const {
  for (const auto& [block, e] : extents_) {
    if (e.file == file) fn(block, e);
  }
}

uint64_t SegmentIndex::live_blocks_in(uint32_t file) const {
  auto it = live_by_file_.find(file);
  return it == live_by_file_.end() ? 0 : it->second;
}

uint64_t SegmentIndex::live_stored_bytes_in(uint32_t file) const {
  auto it = live_stored_by_file_.find(file);
  return it == live_stored_by_file_.end() ? 0 : it->second;
}

void SegmentIndex::Serialize(std::string* out) const {
  out->reserve(out->size() + 8 + extents_.size() * kExtentBytes);
  PutRaw<uint64_t>(out, extents_.size());
  for (const auto& [block, e] : extents_) {
    PutRaw<uint64_t>(out, block);
    PutRaw<uint32_t>(out, e.count);
    PutRaw<uint32_t>(out, e.file);
    PutRaw<uint64_t>(out, e.data_offset);
    PutRaw<uint32_t>(out, e.payload_len);
    PutRaw<uint32_t>(out, e.block_delta);
    PutRaw<uint32_t>(out, e.record_blocks);
    PutRaw<uint32_t>(out, e.record_crc);
    PutRaw<uint8_t>(out, e.compressed ? 1 : 0);
  }
}

Result<SegmentIndex> SegmentIndex::Parse(std::string_view bytes, uint32_t block_size) {
  SegmentIndex index(block_size);
  if (bytes.size() < 8) return Status::Corruption("index checkpoint too short");
  const char* p = bytes.data();
  uint64_t n = GetRaw<uint64_t>(p);
  if (n > (bytes.size() - 8) / kExtentBytes || bytes.size() != 8 + n * kExtentBytes) {
    return Status::Corruption("index checkpoint length does not match its extent count");
  }
  uint64_t prev_end = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t block = GetRaw<uint64_t>(p);
    IndexExtent e;
    e.count = GetRaw<uint32_t>(p);
    e.file = GetRaw<uint32_t>(p);
    e.data_offset = GetRaw<uint64_t>(p);
    e.payload_len = GetRaw<uint32_t>(p);
    e.block_delta = GetRaw<uint32_t>(p);
    e.record_blocks = GetRaw<uint32_t>(p);
    e.record_crc = GetRaw<uint32_t>(p);
    e.compressed = GetRaw<uint8_t>(p) != 0;
    if (e.count == 0 || block < prev_end) return Status::Corruption("index checkpoint extents overlap");
    prev_end = block + e.count;
    index.extents_.emplace_hint(index.extents_.end(), block, e);
    index.Account(e, +1);
  }
  return index;
}

}  // namespace strata::block
