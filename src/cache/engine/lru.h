// SegmentedLru: per-class hot/warm/cold LRU lists (memcached's segmented LRU,
// which Tair MDB's per-slab LRU resembles).
//
// New items enter HOT. A read only sets the item's `active` bit — no list
// surgery on the read path. When HOT grows past hot_pct of the class, its tail
// moves to WARM if it was read meanwhile, else to COLD; WARM past warm_pct
// spills its tail to COLD the same way. Eviction takes COLD's tail, giving an
// active item a second chance in WARM. Scan-once traffic therefore flows
// through HOT into COLD and out, without flushing the working set in WARM.
// Every walk is bounded (kMaxSteps) so a request never stalls.
//
// Thread-safety: none; one per shard, used under the shard's lock.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "cache/engine/page_pool.h"

namespace strata::cache {

class SegmentedLru {
 public:
  static constexpr int kMaxSteps = 16;
  SegmentedLru(PagePool* pool, int classes);

  void Link(int cls, Handle h);    // new item at the head of HOT
  void Unlink(int cls, Handle h);
  // The item moved in memory: neighbours and heads must follow it.
  void Relink(int cls, Handle old_h, Handle new_h);
  // Rebalances segment sizes of `cls` (bounded).
  void Maintain(int cls);
  // A candidate for eviction in `cls` (the COLD tail after second chances),
  // or kNullHandle if the class is empty. Does not unlink it.
  Handle Victim(int cls);
  // Tail of a segment, for expiry crawling.
  Handle Tail(int cls, int seg) const { return lists_[cls][seg].tail; }
  Handle Prev(Handle h) const;
  uint64_t Count(int cls, int seg) const { return lists_[cls][seg].count; }
  uint64_t Count(int cls) const;

 private:
  struct List {
    Handle head = kNullHandle;
    Handle tail = kNullHandle;
    uint64_t count = 0;
  };
  void PushHead(int cls, int seg, Handle h);
  void Remove(int cls, int seg, Handle h);
  void MoveTail(int cls, int from);

  PagePool* pool_;
  std::vector<std::array<List, 3>> lists_;
};

}  // namespace strata::cache
