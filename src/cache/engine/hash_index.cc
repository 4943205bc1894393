#include "cache/engine/hash_index.h"

#include <cstring>

#include "cache/engine/item.h"

namespace strata::cache {

// MurmurHash64A (Austin Appleby, public domain): fast on short keys and good
// enough spread for both the shard (high bits) and the bucket (low bits).
uint64_t HashKey(std::string_view key) {
  const uint64_t m = 0xc6a4a7935bd1e995ULL;
  const int r = 47;
  uint64_t h = 0x5bd1e995f00dULL ^ (key.size() * m);
  const char* p = key.data();
  size_t n = key.size();
  while (n >= 8) {
    uint64_t k;
    std::memcpy(&k, p, 8);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
    p += 8;
    n -= 8;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p, n);
  if (n) {
    h ^= tail;
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

HashIndex::HashIndex(PagePool* pool, uint32_t initial_buckets) : pool_(pool), table_(initial_buckets, kNullHandle) {}

Handle& HashIndex::Next(Handle h) const { return reinterpret_cast<Item*>(pool_->Addr(h))->hnext; }

Handle HashIndex::Find(std::string_view key, uint64_t hash) const {
  auto scan = [&](const std::vector<Handle>& t) -> Handle {
    for (Handle h = t[hash & (t.size() - 1)]; h != kNullHandle;) {
      const Item* it = reinterpret_cast<const Item*>(pool_->Addr(h));
      if (it->key() == key) return h;
      h = it->hnext;
    }
    return kNullHandle;
  };
  if (!old_.empty() && (hash & (old_.size() - 1)) >= rehash_idx_) {
    Handle h = scan(old_);
    if (h != kNullHandle) return h;
  }
  return scan(table_);
}

Handle* HashIndex::Slot(uint64_t hash, bool for_insert) {
  if (!for_insert && !old_.empty()) {
    uint64_t ob = hash & (old_.size() - 1);
    if (ob >= rehash_idx_) return &old_[ob];
  }
  return &table_[hash & (table_.size() - 1)];
}

void HashIndex::Insert(Handle h, uint64_t hash) {
  if (old_.empty() && size_ >= table_.size()) {
    old_.swap(table_);
    table_.assign(old_.size() * 2, kNullHandle);
    rehash_idx_ = 0;
  }
  Handle* slot = Slot(hash, true);
  Next(h) = *slot;
  *slot = h;
  size_++;
  RehashStep(1);
}

bool HashIndex::Remove(Handle h, uint64_t hash) {
  for (int pass = 0; pass < 2; pass++) {
    Handle* link = pass == 0 ? Slot(hash, false) : &table_[hash & (table_.size() - 1)];
    while (*link != kNullHandle) {
      if (*link == h) {
        *link = Next(h);
        size_--;
        return true;
      }
      link = &Next(*link);
    }
  }
  return false;
}

void HashIndex::Replace(Handle old_h, Handle new_h, uint64_t hash) {
  for (int pass = 0; pass < 2; pass++) {
    Handle* link = pass == 0 ? Slot(hash, false) : &table_[hash & (table_.size() - 1)];
    while (*link != kNullHandle) {
      if (*link == old_h) {
        *link = new_h;
        return;
      }
      link = &Next(*link);
    }
  }
}

void HashIndex::RehashStep(int buckets) {
  int empty_visits = buckets * 10;
  while (!old_.empty() && buckets > 0) {
    if (rehash_idx_ >= old_.size()) {
      std::vector<Handle>().swap(old_);
      return;
    }
    Handle h = old_[rehash_idx_];
    if (h == kNullHandle) {
      rehash_idx_++;
      if (--empty_visits == 0) return;
      continue;
    }
    while (h != kNullHandle) {
      Handle next = Next(h);
      const Item* it = reinterpret_cast<const Item*>(pool_->Addr(h));
      Handle& slot = table_[HashKey(it->key()) & (table_.size() - 1)];
      Next(h) = slot;
      slot = h;
      h = next;
    }
    old_[rehash_idx_++] = kNullHandle;
    buckets--;
  }
  if (!old_.empty() && rehash_idx_ >= old_.size()) std::vector<Handle>().swap(old_);
}

}  // namespace strata::cache
