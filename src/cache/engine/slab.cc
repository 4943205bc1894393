#include "cache/engine/slab.h"

#include <algorithm>

#include "cache/engine/item.h"

namespace strata::cache {

SizeClasses::SizeClasses(double factor) {
  // Small items dominate caches, so below kDenseLimit classes step by 8 bytes
  // (at most 7 bytes of slack per item); above it they grow geometrically.
  uint32_t size = kMinChunk;
  while (size < kMaxChunk) {
    sizes_.push_back(size);
    uint32_t next = size < kDenseLimit ? size + 8 : (static_cast<uint32_t>(size * factor) + 7) & ~7u;
    size = std::max(next, size + 8);
  }
  sizes_.push_back(kMaxChunk);
}

int SizeClasses::ClassFor(uint32_t bytes) const {
  auto it = std::lower_bound(sizes_.begin(), sizes_.end(), bytes);
  if (it == sizes_.end()) return -1;
  return static_cast<int>(it - sizes_.begin());
}

SlabAllocator::SlabAllocator(PagePool* pool, const SizeClasses* classes)
    : pool_(pool), sizes_(classes), classes_(classes->count()) {}

SlabAllocator::~SlabAllocator() {
  for (auto& c : classes_) {
    for (uint32_t p : c.pages) pool_->FreePage(p);
  }
}

void SlabAllocator::AddPartial(int cls, uint32_t page) {
  PageInfo& info = pool_->Info(page);
  if (info.partial_pos) return;
  auto& partial = classes_[cls].partial;
  partial.push_back(page);
  info.partial_pos = static_cast<uint32_t>(partial.size());
}

void SlabAllocator::RemovePartial(int cls, uint32_t page) {
  PageInfo& info = pool_->Info(page);
  if (!info.partial_pos) return;
  auto& partial = classes_[cls].partial;
  uint32_t idx = info.partial_pos - 1;
  uint32_t last = partial.back();
  partial[idx] = last;
  pool_->Info(last).partial_pos = idx + 1;
  partial.pop_back();
  info.partial_pos = 0;
}

void SlabAllocator::AdoptPage(int cls, uint32_t page) {
  PageInfo& info = pool_->Info(page);
  info = PageInfo{};
  info.cls = static_cast<uint8_t>(cls);
  auto& c = classes_[cls];
  info.all_pos = static_cast<uint32_t>(c.pages.size());
  c.pages.push_back(page);
  AddPartial(cls, page);
}

Handle SlabAllocator::TakeFrom(int cls, uint32_t page) {
  PageInfo& info = pool_->Info(page);
  Handle h;
  if (info.free_head != kNullHandle) {
    h = info.free_head;
    info.free_head = reinterpret_cast<Item*>(pool_->Addr(h))->hnext;
  } else {
    h = PagePool::MakeHandle(page, info.carved * sizes_->ChunkSize(cls));
    info.carved++;
  }
  info.used++;
  classes_[cls].used_chunks++;
  if (info.free_head == kNullHandle && info.carved == sizes_->PerPage(cls)) RemovePartial(cls, page);
  Item* it = reinterpret_cast<Item*>(pool_->Addr(h));
  it->bits = 0;
  it->cls = static_cast<uint8_t>(cls);
  return h;
}

Handle SlabAllocator::AllocFromPartial(int cls, uint32_t exclude_page) {
  // Prefer the fullest page: nearly empty pages then drain by themselves and
  // the merger has little to move. The partial list is short (pages of one
  // class in one shard), so a linear pass is cheap.
  uint32_t best = kNoPage;
  uint32_t best_used = 0;
  for (uint32_t p : classes_[cls].partial) {
    const PageInfo& info = pool_->Info(p);
    if (p == exclude_page || info.draining) continue;
    if (best == kNoPage || info.used > best_used) {
      best = p;
      best_used = info.used;
      if (best_used + 1 >= sizes_->PerPage(cls)) break;
    }
  }
  return best == kNoPage ? kNullHandle : TakeFrom(cls, best);
}

Handle SlabAllocator::Alloc(int cls) {
  Handle h = AllocFromPartial(cls, kNoPage);
  if (h != kNullHandle) return h;
  uint32_t page = pool_->AllocPage();
  if (page == kNoPage) return kNullHandle;
  AdoptPage(cls, page);
  return TakeFrom(cls, page);
}

void SlabAllocator::Free(Handle h) {
  uint32_t page = PagePool::PageOf(h);
  PageInfo& info = pool_->Info(page);
  Item* it = reinterpret_cast<Item*>(pool_->Addr(h));
  it->bits = 0;  // not live
  it->hnext = info.free_head;
  info.free_head = h;
  info.used--;
  classes_[info.cls].used_chunks--;
  AddPartial(info.cls, page);
}

void SlabAllocator::ReleasePage(uint32_t page) {
  PageInfo& info = pool_->Info(page);
  int cls = info.cls;
  RemovePartial(cls, page);
  auto& pages = classes_[cls].pages;
  uint32_t idx = info.all_pos;
  uint32_t last = pages.back();
  pages[idx] = last;
  pool_->Info(last).all_pos = idx;
  pages.pop_back();
  pool_->FreePage(page);
}

uint64_t SlabAllocator::free_chunks(int cls) const {
  const auto& c = classes_[cls];
  return c.pages.size() * sizes_->PerPage(cls) - c.used_chunks;
}

uint32_t SlabAllocator::EmptiestPage(int cls) const {
  uint32_t best = kNoPage;
  uint32_t best_used = UINT32_MAX;
  for (uint32_t p : classes_[cls].partial) {
    if (pool_->Info(p).used < best_used) {
      best = p;
      best_used = pool_->Info(p).used;
    }
  }
  return best;
}

uint32_t SlabAllocator::LeastUsedPage(int cls) const {
  uint32_t best = kNoPage;
  uint32_t best_used = UINT32_MAX;
  for (uint32_t p : classes_[cls].pages) {
    if (pool_->Info(p).used < best_used) {
      best = p;
      best_used = pool_->Info(p).used;
    }
  }
  return best;
}

uint64_t SlabAllocator::total_pages() const {
  uint64_t n = 0;
  for (const auto& c : classes_) n += c.pages.size();
  return n;
}

}  // namespace strata::cache
