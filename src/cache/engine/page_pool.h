// PagePool: the global memory budget of the mem engine and the 1 MiB pages
// carved from it (Tair MDB's "memory pool").
//
// The pool reserves one contiguous virtual range (MAP_NORESERVE) big enough for
// every page the budget allows, so an item is addressed by a 32-bit handle
// (page index, 8-byte-aligned offset) instead of a 64-bit pointer; only pages
// actually handed out ever become resident. A page given back is madvised away,
// so a page freed by page merging or rebalancing really returns its memory.
//
// The budget also covers "external" bytes: values too big for a slab chunk and
// the heap objects behind Redis hashes/lists/sets/zsets. Pages and external
// bytes draw from the same limit, so `--memory` bounds both.
//
// Thread-safety: all methods are thread-safe (one mutex for the page free list,
// atomics for the budget). PageInfo entries are owned by the shard that holds
// the page and are touched only under that shard's lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "common/result.h"

namespace strata::cache {

inline constexpr uint32_t kPageSize = 1u << 20;     // 1 MiB
inline constexpr uint32_t kPageShift = 20;
inline constexpr uint32_t kNoPage = 0;               // page 0 is never handed out
inline constexpr uint32_t kOffsetShift = 3;          // handles count 8-byte units
inline constexpr uint32_t kOffsetBits = kPageShift - kOffsetShift;  // 17
inline constexpr uint32_t kMaxPages = 1u << (32 - kOffsetBits);      // 32768 = 32 GiB

// A 32-bit item address: page << 17 | offset / 8. 0 is the null handle.
using Handle = uint32_t;
inline constexpr Handle kNullHandle = 0;

// Bookkeeping for one page, kept outside the page so a page is all payload.
struct PageInfo {
  uint8_t cls = 0;            // slab class that owns the page
  bool draining = false;      // being emptied by page merging: no new allocations
  uint32_t used = 0;          // live chunks
  uint32_t carved = 0;        // chunks handed out at least once (bump pointer)
  Handle free_head = kNullHandle;  // chunks freed back to this page
  uint32_t partial_pos = 0;   // index in the class's partial list, +1 (0: not listed)
  uint32_t all_pos = 0;       // index in the class's page list
};

class PagePool {
 public:
  // Reserves address space for `limit_bytes` (at least one page).
  static Result<std::unique_ptr<PagePool>> Create(uint64_t limit_bytes);
  ~PagePool();
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;

  // A fresh page, or kNoPage when the budget has no room for one.
  uint32_t AllocPage();
  // Returns a page to the pool and its memory to the OS.
  void FreePage(uint32_t page);

  // Charges `bytes` of external memory; false (nothing charged) when that would
  // exceed the limit and `force` is false.
  bool ChargeExternal(uint64_t bytes, bool force);
  void ReleaseExternal(uint64_t bytes);

  char* PageAddr(uint32_t page) const { return base_ + (static_cast<size_t>(page) << kPageShift); }
  char* Addr(Handle h) const {
    return base_ + (static_cast<size_t>(h >> kOffsetBits) << kPageShift) +
           (static_cast<size_t>(h & ((1u << kOffsetBits) - 1)) << kOffsetShift);
  }
  static Handle MakeHandle(uint32_t page, uint32_t byte_offset) {
    return (page << kOffsetBits) | (byte_offset >> kOffsetShift);
  }
  static uint32_t PageOf(Handle h) { return h >> kOffsetBits; }
  PageInfo& Info(uint32_t page) { return info_[page]; }

  uint64_t limit_bytes() const { return limit_; }
  uint64_t used_bytes() const { return used_.load(std::memory_order_relaxed); }
  uint64_t pages_in_use() const { return pages_in_use_.load(std::memory_order_relaxed); }
  uint64_t external_bytes() const { return external_.load(std::memory_order_relaxed); }
  bool OverLimit() const { return used_bytes() > limit_; }

 private:
  PagePool(char* base, size_t mapped, uint64_t limit, uint32_t max_pages);
  bool Reserve(uint64_t bytes, bool force);

  char* base_;
  size_t mapped_;
  uint64_t limit_;
  uint32_t max_pages_;
  std::atomic<uint64_t> used_{0};
  std::atomic<uint64_t> pages_in_use_{0};
  std::atomic<uint64_t> external_{0};
  std::vector<PageInfo> info_;
  std::mutex mu_;
  std::vector<uint32_t> free_pages_;  // GUARDED_BY(mu_)
  uint32_t next_page_ = 1;            // GUARDED_BY(mu_): never-used pages start here
};

}  // namespace strata::cache
