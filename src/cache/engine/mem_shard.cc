#include "cache/engine/mem_shard.h"

#include <cstring>
#include <limits>

namespace strata::cache {

namespace {
constexpr int kMaxAllocAttempts = 64;
constexpr int kMaxExternalEvictions = 1024;
constexpr int kRebalancePagesPerStep = 1;
// Evictions since the last step below which a class is not considered short
// of memory: avoids moving pages back and forth on noise.
constexpr uint64_t kRebalanceMinEvictions = 16;
constexpr uint32_t kMaxKeyLen = std::numeric_limits<uint16_t>::max();

Status Oom() { return Status::ResourceExhausted("out of memory: the cache memory limit is reached and nothing can be evicted"); }
}  // namespace

MemShard::MemShard(PagePool* pool, const SizeClasses* classes, const Clock* clock, uint64_t cas_seed)
    : pool_(pool),
      classes_(classes),
      clock_(clock),
      slab_(pool, classes),
      lru_(pool, classes->count()),
      index_(pool),
      next_cas_(cas_seed),
      class_evictions_(classes->count()),
      class_evictions_tick_(classes->count()) {}

MemShard::~MemShard() { Flush(-1); }

uint64_t MemShard::ItemBytes(const Item* it) const {
  uint64_t n = classes_->ChunkSize(it->cls);
  if (it->external()) n += static_cast<ExternalValue*>(it->external_ptr())->charged;
  return n;
}

void MemShard::Account(const Item* it, int sign) {
  uint8_t ns = static_cast<uint8_t>(it->data()[0]);
  uint64_t bytes = ItemBytes(it);
  expiries_.Add(ns, it->expire_ms, sign);
  if (sign > 0) {
    ns_items_[ns].fetch_add(1, std::memory_order_relaxed);
    ns_bytes_[ns].fetch_add(bytes, std::memory_order_relaxed);
  } else {
    ns_items_[ns].fetch_sub(1, std::memory_order_relaxed);
    ns_bytes_[ns].fetch_sub(bytes, std::memory_order_relaxed);
  }
}

bool MemShard::Find(std::string_view key, uint64_t hash, int64_t now_ms, ItemView* out) {
  Handle h = index_.Find(key, hash);
  if (h == kNullHandle) return false;
  Item* it = At(h);
  if (Expired(it, now_ms)) {
    Unlink(h, hash);
    counters_.expired_reclaimed.fetch_add(1, std::memory_order_relaxed);
    if (listener_) listener_->OnExpired(key);
    return false;
  }
  // Only the first read since the LRU last looked writes the item: a hot
  // item read by every worker keeps its cache line shared, not bounced.
  if (!it->active()) it->set_active(true);
  out->type = it->type();
  out->flags = it->flags;
  out->cas = it->cas;
  out->expire_ms = it->expire_ms;
  out->object = nullptr;
  if (!it->external()) {
    out->value = it->inline_value();
  } else if (it->type() == ValueType::kString) {
    out->value = static_cast<BigString*>(it->external_ptr())->value;
  } else {
    out->value = {};
    out->object = static_cast<ExternalValue*>(it->external_ptr());
  }
  return true;
}

void MemShard::Unlink(Handle h, uint64_t hash) {
  Item* it = At(h);
  Account(it, -1);
  index_.Remove(h, hash);
  lru_.Unlink(it->cls, h);
  if (it->external()) {
    auto* obj = static_cast<ExternalValue*>(it->external_ptr());
    pool_->ReleaseExternal(obj->charged);
    delete obj;
  }
  slab_.Free(h);
}

void MemShard::Install(Handle h, uint64_t hash, Handle old) {
  if (old != kNullHandle) Unlink(old, hash);
  Item* it = At(h);
  index_.Insert(h, hash);
  lru_.Link(it->cls, h);
  Account(it, +1);
}

bool MemShard::EvictOne(int cls, Handle pinned) {
  Handle v = lru_.Victim(cls);
  if (v == pinned && v != kNullHandle) v = lru_.Prev(v);
  if (v == kNullHandle) return false;
  Item* it = At(v);
  bool expired = Expired(it, static_cast<int64_t>(clock_->WallMicros() / 1000));
  std::string key;
  if (listener_) key.assign(it->key());  // the chunk is freed by Unlink
  Unlink(v, HashKey(it->key()));
  if (expired) {
    counters_.expired_reclaimed.fetch_add(1, std::memory_order_relaxed);
    if (listener_) listener_->OnExpired(key);
  } else {
    counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    class_evictions_[cls]++;
    if (listener_) listener_->OnEvicted(key);
  }
  return true;
}

bool MemShard::MoveItem(Handle from, uint32_t exclude_page) {
  Item* src = At(from);
  int cls = src->cls;
  Handle to = slab_.AllocFromPartial(cls, exclude_page);
  if (to == kNullHandle) return false;
  Item* dst = At(to);
  std::memcpy(static_cast<void*>(dst), src, Item::TotalSize(src->key_len, src->value_len));
  index_.Replace(from, to, HashKey(dst->key()));
  lru_.Relink(cls, from, to);
  slab_.Free(from);
  counters_.items_moved.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool MemShard::EmptyPage(uint32_t page, Handle pinned) {
  PageInfo& info = pool_->Info(page);
  int cls = info.cls;
  uint32_t size = classes_->ChunkSize(cls);
  info.draining = true;
  for (uint32_t i = 0; i < info.carved && info.used > 0; i++) {
    Handle h = PagePool::MakeHandle(page, i * size);
    Item* it = At(h);
    if (!it->live()) continue;
    if (h == pinned) {
      info.draining = false;
      return false;
    }
    // Keep the item if its class has room elsewhere; evict only otherwise.
    if (MoveItem(h, page)) continue;
    Unlink(h, HashKey(it->key()));
    counters_.evictions.fetch_add(1, std::memory_order_relaxed);
    class_evictions_[cls]++;
  }
  slab_.ReleasePage(page);
  return true;
}

bool MemShard::FreePageOfOtherClass(int cls, Handle pinned) {
  // Victim: the class with the least eviction pressure per page since the
  // last rebalance, i.e. the one that misses its pages least.
  int victim = -1;
  double best = 0;
  uint32_t pinned_page = pinned == kNullHandle ? kNoPage : PagePool::PageOf(pinned);
  for (int c = 0; c < classes_->count(); c++) {
    const auto& pages = slab_.Class(c).pages;
    if (c == cls || pages.empty()) continue;
    if (pages.size() == 1 && pages[0] == pinned_page) continue;
    double pressure = static_cast<double>(class_evictions_[c] - class_evictions_tick_[c] + 1) / pages.size();
    if (victim < 0 || pressure < best) {
      victim = c;
      best = pressure;
    }
  }
  if (victim < 0) return false;
  // The page holding the victim class's least recently used item: pages fill
  // in time order, so it tends to hold old items, never a fresh page of new
  // ones. Fall back to the least used page.
  uint32_t page = kNoPage;
  for (int seg = 2; seg >= 0 && page == kNoPage; seg--) {
    Handle tail = lru_.Tail(victim, seg);
    if (tail != kNullHandle && PagePool::PageOf(tail) != pinned_page) page = PagePool::PageOf(tail);
  }
  uint32_t used = UINT32_MAX;
  for (uint32_t p : slab_.Class(victim).pages) {
    if (page != kNoPage) break;
    if (p != pinned_page && pool_->Info(p).used < used) {
      page = p;
      used = pool_->Info(p).used;
    }
  }
  if (page == kNoPage || !EmptyPage(page, pinned)) return false;
  counters_.pages_rebalanced.fetch_add(1, std::memory_order_relaxed);
  return true;
}

Handle MemShard::AllocItem(uint32_t total, Handle pinned) {
  int cls = classes_->ClassFor(total);
  if (cls < 0) return kNullHandle;
  for (int attempt = 0; attempt < kMaxAllocAttempts; attempt++) {
    Handle h = slab_.Alloc(cls);
    if (h != kNullHandle) return h;
    if (EvictOne(cls, pinned)) continue;
    if (!FreePageOfOtherClass(cls, pinned)) break;
  }
  counters_.oom_errors.fetch_add(1, std::memory_order_relaxed);
  return kNullHandle;
}

bool MemShard::ChargeExternal(uint64_t bytes, Handle pinned) {
  for (int i = 0; i < kMaxExternalEvictions; i++) {
    if (pool_->ChargeExternal(bytes, false)) return true;
    // Prefer evicting items that hold external memory: evicting a small item
    // frees a chunk, not budget.
    bool evicted = false;
    for (int c = 0; c < classes_->count() && !evicted; c++) {
      Handle v = lru_.Victim(c);
      if (v != kNullHandle && v != pinned && At(v)->external()) evicted = EvictOne(c, pinned);
    }
    if (!evicted && !FreePageOfOtherClass(-1, pinned)) break;
  }
  counters_.oom_errors.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Result<uint64_t> MemShard::PutString(std::string_view key, uint64_t hash, std::span<const std::string_view> pieces,
                                     uint32_t flags, int64_t expire_ms) {
  if (key.size() > kMaxKeyLen) return Status::InvalidArgument("key too long");
  uint64_t len = 0;
  for (auto p : pieces) len += p.size();
  Handle old = index_.Find(key, hash);
  bool external = Item::TotalSize(static_cast<uint32_t>(key.size()), 0) + len > kMaxChunk;
  std::unique_ptr<BigString> big;
  if (external) {
    std::string s;
    s.reserve(len);
    for (auto p : pieces) s.append(p);
    big = std::make_unique<BigString>(std::move(s));
    big->charged = big->MemoryUsage();
    if (!ChargeExternal(big->charged, old)) return Oom();
  }
  uint32_t vlen = external ? 8 : static_cast<uint32_t>(len);
  Handle h = AllocItem(Item::TotalSize(static_cast<uint32_t>(key.size()), vlen), old);
  if (h == kNullHandle) {
    if (big) pool_->ReleaseExternal(big->charged);
    return Oom();
  }
  Item* it = At(h);
  it->flags = flags;
  it->cas = next_cas_++;
  it->expire_ms = expire_ms;
  it->value_len = vlen;
  it->key_len = static_cast<uint16_t>(key.size());
  it->bits = Item::kLive | static_cast<uint8_t>(ValueType::kString);
  std::memcpy(it->data(), key.data(), key.size());
  if (external) {
    it->bits |= Item::kExternal;
    it->set_external_ptr(big.release());
  } else {
    char* dst = it->data() + key.size();
    for (auto p : pieces) {
      if (p.empty()) continue;  // data() may be null
      std::memmove(dst, p.data(), p.size());
      dst += p.size();
    }
  }
  Install(h, hash, old);
  return it->cas;
}

Status MemShard::PutObject(std::string_view key, uint64_t hash, std::unique_ptr<ExternalValue> obj,
                           int64_t expire_ms) {
  if (key.size() > kMaxKeyLen) return Status::InvalidArgument("key too long");
  Handle old = index_.Find(key, hash);
  obj->charged = obj->MemoryUsage();
  if (!ChargeExternal(obj->charged, old)) return Oom();
  Handle h = AllocItem(Item::TotalSize(static_cast<uint32_t>(key.size()), 8), old);
  if (h == kNullHandle) {
    pool_->ReleaseExternal(obj->charged);
    return Oom();
  }
  Item* it = At(h);
  it->flags = 0;
  it->cas = next_cas_++;
  it->expire_ms = expire_ms;
  it->value_len = 8;
  it->key_len = static_cast<uint16_t>(key.size());
  it->bits = Item::kLive | Item::kExternal | static_cast<uint8_t>(obj->type());
  std::memcpy(it->data(), key.data(), key.size());
  it->set_external_ptr(obj.release());
  Install(h, hash, old);
  return Status::Ok();
}

void MemShard::ObjectChanged(std::string_view key, uint64_t hash) {
  Handle h = index_.Find(key, hash);
  if (h == kNullHandle) return;
  Item* it = At(h);
  if (!it->external()) return;
  auto* obj = static_cast<ExternalValue*>(it->external_ptr());
  if (obj->Size() == 0 && obj->RemovedWhenEmpty()) {
    Unlink(h, hash);
    return;
  }
  it->cas = next_cas_++;
  uint64_t now = obj->MemoryUsage();
  if (now == obj->charged) return;
  Account(it, -1);
  if (now > obj->charged) {
    // The mutation already happened; evict others to make room, and if that
    // fails keep the item charged anyway (the next writes will evict).
    if (!ChargeExternal(now - obj->charged, h)) pool_->ChargeExternal(now - obj->charged, true);
  } else {
    pool_->ReleaseExternal(obj->charged - now);
  }
  obj->charged = now;
  Account(it, +1);
}

bool MemShard::Erase(std::string_view key, uint64_t hash) {
  Handle h = index_.Find(key, hash);
  if (h == kNullHandle) return false;
  Unlink(h, hash);
  return true;
}

bool MemShard::SetExpire(std::string_view key, uint64_t hash, int64_t expire_ms) {
  Handle h = index_.Find(key, hash);
  if (h == kNullHandle) return false;
  uint8_t ns = static_cast<uint8_t>(key[0]);
  expiries_.Add(ns, At(h)->expire_ms, -1);
  At(h)->expire_ms = expire_ms;
  expiries_.Add(ns, expire_ms, +1);
  At(h)->cas = next_cas_++;
  return true;
}

void MemShard::ExpireStep(int64_t now_ms, int buckets) {
  // Finish a pending resize even when no writes come to drive it.
  index_.RehashStep(buckets);
  for (int i = 0; i < buckets; i++) {
    if (expire_cursor_ >= index_.table_size()) expire_cursor_ = 0;
    std::vector<Handle> dead;
    index_.VisitBucket(expire_cursor_++, [&](Handle h) {
      if (Expired(At(h), now_ms)) dead.push_back(h);
    });
    for (Handle h : dead) {
      std::string key;
      if (listener_) key.assign(At(h)->key());  // the chunk is freed by Unlink
      Unlink(h, HashKey(At(h)->key()));
      counters_.expired_reclaimed.fetch_add(1, std::memory_order_relaxed);
      if (listener_) listener_->OnExpired(key);
    }
  }
}

void MemShard::MergeStep(int max_moves) {
  for (int c = 0; c < classes_->count() && max_moves > 0; c++) {
    const ClassPages& cp = slab_.Class(c);
    if (cp.pages.size() < 2) continue;
    uint32_t per = classes_->PerPage(c);
    uint64_t free = slab_.free_chunks(c);
    if (free < per) continue;  // less than one page of holes: nothing to gain
    uint32_t page = slab_.EmptiestPage(c);
    if (page == kNoPage) continue;
    PageInfo& info = pool_->Info(page);
    // Only nearly empty pages (a quarter or less), and only if the other pages
    // of the class can absorb their items.
    if (info.used * 4 > per || free - (per - info.used) < info.used) continue;
    info.draining = true;
    uint32_t size = classes_->ChunkSize(c);
    for (uint32_t i = 0; i < info.carved && info.used > 0 && max_moves > 0; i++) {
      Handle h = PagePool::MakeHandle(page, i * size);
      if (!At(h)->live()) continue;
      if (!MoveItem(h, page)) {
        info.draining = false;  // no room after all: let the page fill again
        break;
      }
      max_moves--;
    }
    if (info.used == 0) {
      slab_.ReleasePage(page);
      counters_.pages_merged.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void MemShard::RebalanceStep() {
  // The class that evicted most since the last step takes pages from classes
  // that evicted nothing meanwhile; moving pages between two classes under
  // pressure would only shift the misses around.
  int needy = -1;
  uint64_t most = 0;
  bool has_idle = false;
  for (int c = 0; c < classes_->count(); c++) {
    uint64_t recent = class_evictions_[c] - class_evictions_tick_[c];
    if (recent > most) {
      most = recent;
      needy = c;
    }
    if (recent == 0 && slab_.Class(c).pages.size() > 1) has_idle = true;
  }
  if (most < kRebalanceMinEvictions) needy = -1;
  for (int moved = 0; needy >= 0 && has_idle && moved < kRebalancePagesPerStep; moved++) {
    if (!FreePageOfOtherClass(needy, kNullHandle)) break;
    uint32_t page = pool_->AllocPage();
    if (page == kNoPage) break;
    slab_.AdoptPage(needy, page);
  }
  class_evictions_tick_ = class_evictions_;
}

void MemShard::Flush(int ns) {
  for (uint64_t b = 0; b < index_.table_size(); b++) {
    std::vector<Handle> dead;
    index_.VisitBucket(b, [&](Handle h) {
      if (ns < 0 || static_cast<uint8_t>(At(h)->data()[0]) == ns) dead.push_back(h);
    });
    for (Handle h : dead) Unlink(h, HashKey(At(h)->key()));
  }
}

uint64_t MemShard::Scan(uint8_t ns, uint64_t cursor, size_t count, size_t* budget, int64_t now_ms,
                        const std::function<void(std::string_view, ValueType)>& fn) {
  size_t emitted = 0;
  do {
    cursor = index_.ScanStep(cursor, [&](Handle h) {
      const Item* it = At(h);
      if (static_cast<uint8_t>(it->data()[0]) != ns || Expired(it, now_ms)) return;
      fn(it->key().substr(1), it->type());
      emitted++;
    });
    if (*budget > 0) --*budget;
  } while (cursor != 0 && emitted < count && *budget > 0);
  return cursor;
}

}  // namespace strata::cache
