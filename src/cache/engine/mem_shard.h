// MemShard: one lock domain of the mem engine — a hash index, a slab
// allocator and a segmented LRU per size class, over pages from the shared
// PagePool. Everything a request touches lives in one shard, so requests on
// different shards never contend (Tair's fine-grained locking).
//
// Memory pressure is resolved inside the shard, in this order:
//   1. a free chunk of the item's class (fullest page first);
//   2. a fresh page from the pool while the global budget allows;
//   3. evicting from the class's LRU (COLD tail, second chance for active);
//   4. if the class owns no items to evict, emptying the least used page of
//      another class and adopting it (rebalancing on demand).
// In the background (Tick): reclaiming expired items, page merging (moving the
// items of nearly empty pages into fuller ones, then releasing the page to the
// pool) and rebalancing pages towards classes that evict most.
//
// Thread-safety: callers hold mu() for every method except the constructor.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "cache/engine/engine.h"
#include "cache/engine/hash_index.h"
#include "cache/engine/lru.h"
#include "cache/engine/slab.h"
#include "common/result.h"
#include "env/clock.h"

namespace strata::cache {

struct ShardCounters {
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> expired_reclaimed{0};
  std::atomic<uint64_t> items_moved{0};       // by page merging
  std::atomic<uint64_t> pages_merged{0};      // pages released by merging
  std::atomic<uint64_t> pages_rebalanced{0};  // pages moved between classes
  std::atomic<uint64_t> oom_errors{0};
};

class MemShard {
 public:
  MemShard(PagePool* pool, const SizeClasses* classes, const Clock* clock, uint64_t cas_seed);
  ~MemShard();

  std::mutex& mu() { return mu_; }
  // Set once before the shard serves; borrowed.
  void set_listener(RemovalListener* l) { listener_ = l; }

  bool Find(std::string_view key, uint64_t hash, int64_t now_ms, ItemView* out);
  Result<uint64_t> PutString(std::string_view key, uint64_t hash, std::span<const std::string_view> pieces,
                             uint32_t flags, int64_t expire_ms);
  Status PutObject(std::string_view key, uint64_t hash, std::unique_ptr<ExternalValue> obj, int64_t expire_ms);
  void ObjectChanged(std::string_view key, uint64_t hash);
  bool Erase(std::string_view key, uint64_t hash);
  bool SetExpire(std::string_view key, uint64_t hash, int64_t expire_ms);

  // Background steps, each bounded by its argument.
  void ExpireStep(int64_t now_ms, int buckets);
  void MergeStep(int max_moves);
  void RebalanceStep();
  // Removes all items of namespace `ns` (all when ns < 0).
  void Flush(int ns);
  // Walks the index from `cursor` (HashIndex::ScanStep) until `count` keys
  // were visited or `*budget` buckets were (each step takes one from it);
  // returns the next cursor, 0 when the shard is done.
  uint64_t Scan(uint8_t ns, uint64_t cursor, size_t count, size_t* budget, int64_t now_ms,
                const std::function<void(std::string_view, ValueType)>& fn);

  uint64_t ns_items(uint8_t ns) const { return ns_items_[ns].load(std::memory_order_relaxed); }
  uint64_t ns_bytes(uint8_t ns) const { return ns_bytes_[ns].load(std::memory_order_relaxed); }
  const ExpiryTally& expiries() const { return expiries_; }
  const ShardCounters& counters() const { return counters_; }
  const SlabAllocator& slab() const { return slab_; }
  const SegmentedLru& lru() const { return lru_; }
  const HashIndex& index() const { return index_; }
  uint64_t class_evictions(int cls) const { return class_evictions_[cls]; }

 private:
  Item* At(Handle h) const { return reinterpret_cast<Item*>(pool_->Addr(h)); }
  // A chunk for an item of `total` bytes, evicting or rebalancing if needed;
  // never evicts `pinned`.
  Handle AllocItem(uint32_t total, Handle pinned);
  bool EvictOne(int cls, Handle pinned);
  // Empties one page of the class other than `cls` with the least eviction
  // pressure and gives it back to the pool; false when none can be freed.
  bool FreePageOfOtherClass(int cls, Handle pinned);
  bool EmptyPage(uint32_t page, Handle pinned);
  bool ChargeExternal(uint64_t bytes, Handle pinned);
  // Links a freshly written item, replacing `old` (may be null).
  void Install(Handle h, uint64_t hash, Handle old);
  void Unlink(Handle h, uint64_t hash);  // hash + LRU + external + chunk
  bool MoveItem(Handle from, uint32_t exclude_page);
  bool Expired(const Item* it, int64_t now_ms) const {
    return it->expire_ms != 0 && it->expire_ms <= now_ms;
  }
  void Account(const Item* it, int sign);
  uint64_t ItemBytes(const Item* it) const;

  std::mutex mu_;
  PagePool* pool_;
  const SizeClasses* classes_;
  const Clock* clock_;
  SlabAllocator slab_;
  SegmentedLru lru_;
  HashIndex index_;
  uint64_t next_cas_;
  uint64_t expire_cursor_ = 0;
  RemovalListener* listener_ = nullptr;
  std::vector<uint64_t> class_evictions_;       // since start
  std::vector<uint64_t> class_evictions_tick_;  // at the last rebalance
  ShardCounters counters_;
  std::array<std::atomic<uint64_t>, 256> ns_items_{};
  std::array<std::atomic<uint64_t>, 256> ns_bytes_{};
  ExpiryTally expiries_;
};

}  // namespace strata::cache
