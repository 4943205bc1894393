#include "cache/engine/hash_index.h"

#include <cstring>

#include "cache/engine/item.h"

namespace strata::cache {

namespace {

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

uint64_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// 64x64 -> 128-bit multiply folded to 64 bits: wyhash's mixing step.
uint64_t Mix(uint64_t a, uint64_t b) {
  unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

constexpr uint64_t kP0 = 0xa0761d6478bd642full;
constexpr uint64_t kP1 = 0xe7037ed1a0b428dbull;

}  // namespace

// The structure of wyhash (Wang Yi, public domain): 16 bytes per 128-bit
// multiply, keys of up to 16 bytes in two overlapping loads. About three
// times fewer instructions than MurmurHash64A on 17- to 65-byte keys (it runs
// two or three times per request), and every output bit depends on every
// input bit, so both the shard (high bits) and the bucket (low bits) spread.
uint64_t HashKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t seed = kP0;
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 4) {
      size_t mid = (n >> 3) << 2;
      a = (Load32(p) << 32) | Load32(p + mid);
      b = (Load32(p + n - 4) << 32) | Load32(p + n - 4 - mid);
    } else if (n > 0) {
      a = (static_cast<uint64_t>(static_cast<uint8_t>(p[0])) << 16) |
          (static_cast<uint64_t>(static_cast<uint8_t>(p[n >> 1])) << 8) | static_cast<uint8_t>(p[n - 1]);
    }
  } else {
    size_t i = n;
    for (; i > 16; i -= 16, p += 16) seed = Mix(Load64(p) ^ kP1, Load64(p + 8) ^ seed);
    a = Load64(p + i - 16);
    b = Load64(p + i - 8);
  }
  return Mix(kP1 ^ n, Mix(a ^ kP1, b ^ seed));
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
