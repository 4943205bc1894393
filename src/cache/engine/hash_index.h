// HashIndex: key -> item handle, chained through Item::hnext, with
// incremental resizing as in Redis's dict.c.
//
// When the load factor reaches 1 a table of twice the size is allocated and
// every later operation moves a few buckets from the old table to the new one
// (RehashStep), so no single request pays for rehashing millions of keys. While
// rehashing, lookups consult both tables and inserts go to the new one.
// Buckets are 4-byte handles, so the index costs 4-8 bytes per item.
//
// The hash is computed by the caller (one hash per request picks the shard and
// the bucket); the index recomputes it from the stored key only when moving a
// bucket during a resize.
//
// Thread-safety: none; one index per shard, used under the shard's lock.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cache/engine/page_pool.h"

namespace strata::cache {

uint64_t HashKey(std::string_view key);

class HashIndex {
 public:
  explicit HashIndex(PagePool* pool, uint32_t initial_buckets = 1024);

  Handle Find(std::string_view key, uint64_t hash) const;
  // REQUIRES: no item with the same key is present.
  void Insert(Handle h, uint64_t hash);
  // Unlinks `h` (found by identity); false when it is not there.
  bool Remove(Handle h, uint64_t hash);
  // Makes the chain that pointed to `old_h` point to `new_h` (item moved).
  void Replace(Handle old_h, Handle new_h, uint64_t hash);

  // Moves up to `buckets` buckets to the new table (visiting at most 10x as
  // many empty ones). Called once per write, and by the maintenance tick.
  void RehashStep(int buckets);
  bool rehashing() const { return !old_.empty(); }
  uint64_t size() const { return size_; }
  uint64_t bucket_count() const { return table_.size() + old_.size(); }
  uint64_t memory_bytes() const { return (table_.capacity() + old_.capacity()) * sizeof(Handle); }

  // Iteration for SCAN and expiry crawling: the handles chained at `bucket`
  // of the current table, plus those of the old table that map to it.
  template <typename Fn>
  void VisitBucket(uint64_t bucket, Fn&& fn) const;
  uint64_t table_size() const { return table_.size(); }
  // One step of SCAN, Redis's dictScan (the reverse-binary cursor of Pieter
  // Noordhuis): visits the cursor's bucket of the smaller table and every
  // bucket of the larger one it expands into (both tables while a resize is
  // under way) and returns the next cursor, 0 when the walk is complete. The
  // cursor counts in bit-reversed order, so a key present during the whole
  // walk is visited at least once even if the table doubles between steps,
  // and a doubling makes it repeat no bucket it had finished.
  template <typename Fn>
  uint64_t ScanStep(uint64_t cursor, Fn&& fn) const;

 private:
  Handle* Slot(uint64_t hash, bool for_insert);
  Handle& Next(Handle h) const;

  PagePool* pool_;
  std::vector<Handle> table_;  // the newest table
  std::vector<Handle> old_;    // the table being drained (empty if none)
  uint64_t rehash_idx_ = 0;    // next bucket of old_ to move
  uint64_t size_ = 0;
};

inline uint64_t ReverseBits(uint64_t v) {
  v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
  v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
  v = ((v >> 4) & 0x0F0F0F0F0F0F0F0Full) | ((v & 0x0F0F0F0F0F0F0F0Full) << 4);
  return __builtin_bswap64(v);
}

template <typename Fn>
uint64_t HashIndex::ScanStep(uint64_t v, Fn&& fn) const {
  auto visit = [&](const std::vector<Handle>& t, uint64_t b) {
    for (Handle h = t[b]; h != kNullHandle;) {
      Handle next = Next(h);
      fn(h);
      h = next;
    }
  };
  if (old_.empty()) {
    uint64_t m0 = table_.size() - 1;
    visit(table_, v & m0);
    v |= ~m0;  // so that the increment below carries through the masked bits only
    return ReverseBits(ReverseBits(v) + 1);
  }
  // Tables only grow: old_ is the smaller. Its moved buckets are empty.
  uint64_t m0 = old_.size() - 1, m1 = table_.size() - 1;
  visit(old_, v & m0);
  do {
    visit(table_, v & m1);
    v |= ~m1;
    v = ReverseBits(ReverseBits(v) + 1);
  } while (v & (m0 ^ m1));
  return v;
}

template <typename Fn>
void HashIndex::VisitBucket(uint64_t bucket, Fn&& fn) const {
  for (Handle h = table_[bucket]; h != kNullHandle;) {
    Handle next = Next(h);
    fn(h);
    h = next;
  }
  if (old_.empty()) return;
  uint64_t ob = bucket & (old_.size() - 1);
  if (ob < rehash_idx_) return;
  // Old buckets fold onto two new ones; visit each old bucket only once.
  if (bucket >= old_.size()) return;
  for (Handle h = old_[ob]; h != kNullHandle;) {
    Handle next = Next(h);
    fn(h);
    h = next;
  }
}

}  // namespace strata::cache
