// PagedBuffer: the bytes of a segment's open data file, held in pages of a
// fixed size, so that a file that closes hands its pages to the read cache
// as they are, without a copy (ReadCache::Wrap).
//
// Pages are appended to and never changed once handed out (pages() shares
// them); Clear() starts over with new pages.
//
// Thread-safety: none; the segment's lock guards it. Ownership: pages are
// shared with whoever took them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::block {

class PagedBuffer {
 public:
  explicit PagedBuffer(uint32_t page_bytes);

  void Append(std::string_view bytes);
  uint64_t size() const { return size_; }
  uint32_t page_bytes() const { return page_bytes_; }

  // Copies [offset, offset + n) into `out`; false (nothing copied) when the
  // range goes past the end.
  bool CopyOut(uint64_t offset, uint64_t n, char* out) const;
  // The same bytes as a string (empty when past the end).
  std::string Substr(uint64_t offset, uint64_t n) const;

  // Every page, each page_bytes() long but the last. After this the
  // buffer must not be appended to until Clear().
  std::vector<std::shared_ptr<const std::string>> pages() const;

  void Clear();

 private:
  uint32_t page_bytes_;
  std::vector<std::shared_ptr<std::string>> pages_;
  uint64_t size_ = 0;
};

}  // namespace strata::block
