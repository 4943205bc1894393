// SlabAllocator: size classes over 1 MiB pages (Tair MDB / memcached slabs).
//
// Chunk sizes step by 8 bytes up to kDenseLimit, then grow geometrically
// (factor 1.25 by default, 8-byte aligned) up to kMaxChunk; an item takes a chunk of the smallest
// class that fits. Each class of a shard owns whole pages taken from the
// PagePool; a page is carved lazily (bump pointer) so untouched chunks never
// become resident, and freed chunks go onto their own page's free list.
//
// Keeping free lists per page (instead of one per class) is what makes page
// merging possible (Tair's "memory consolidation"): allocation always prefers
// the fullest partially used page, so nearly empty pages drain, and the merger
// can move the last few items of a page elsewhere and give the page back.
//
// Thread-safety: none; one allocator per shard, used under the shard's lock.
#pragma once

#include <cstdint>
#include <vector>

#include "cache/engine/page_pool.h"

namespace strata::cache {

inline constexpr uint32_t kMinChunk = 48;
inline constexpr uint32_t kMaxChunk = kPageSize / 2;  // bigger values go external
inline constexpr uint32_t kDenseLimit = 256;         // 8-byte class steps below this

class SizeClasses {
 public:
  explicit SizeClasses(double factor = 1.25);
  // Smallest class whose chunk holds `bytes`; -1 when above kMaxChunk.
  int ClassFor(uint32_t bytes) const;
  uint32_t ChunkSize(int cls) const { return sizes_[cls]; }
  uint32_t PerPage(int cls) const { return kPageSize / sizes_[cls]; }
  int count() const { return static_cast<int>(sizes_.size()); }

 private:
  std::vector<uint32_t> sizes_;
};

struct ClassPages {
  std::vector<uint32_t> pages;    // every page of the class
  std::vector<uint32_t> partial;  // pages with a free or uncarved chunk
  uint64_t used_chunks = 0;
};

class SlabAllocator {
 public:
  SlabAllocator(PagePool* pool, const SizeClasses* classes);
  ~SlabAllocator();

  // A chunk of class `cls`, taking a new page from the pool if needed; kNullHandle
  // when the class has no free chunk and the pool has no page to give.
  Handle Alloc(int cls);
  // A chunk without touching the pool (used by page merging).
  Handle AllocFromPartial(int cls, uint32_t exclude_page);
  void Free(Handle h);

  // Gives an empty page (used == 0) back to the pool.
  void ReleasePage(uint32_t page);
  // Adds a page taken from the pool to `cls`.
  void AdoptPage(int cls, uint32_t page);

  const ClassPages& Class(int cls) const { return classes_[cls]; }
  PagePool* pool() const { return pool_; }
  const SizeClasses& sizes() const { return *sizes_; }
  uint64_t free_chunks(int cls) const;
  // The partially used page of `cls` with the fewest live chunks (kNoPage if none).
  uint32_t EmptiestPage(int cls) const;
  // The page of `cls` with the fewest live chunks, partial or not.
  uint32_t LeastUsedPage(int cls) const;
  uint64_t total_pages() const;

 private:
  void AddPartial(int cls, uint32_t page);
  void RemovePartial(int cls, uint32_t page);
  Handle TakeFrom(int cls, uint32_t page);

  PagePool* pool_;
  const SizeClasses* sizes_;
  std::vector<ClassPages> classes_;
};

}  // namespace strata::cache
