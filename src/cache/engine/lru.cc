#include "cache/engine/lru.h"

#include "cache/engine/item.h"

namespace strata::cache {

namespace {
constexpr int kHotPct = 20;
constexpr int kWarmPct = 40;
}  // namespace

SegmentedLru::SegmentedLru(PagePool* pool, int classes) : pool_(pool), lists_(classes) {}

static Item* At(PagePool* pool, Handle h) { return reinterpret_cast<Item*>(pool->Addr(h)); }

void SegmentedLru::PushHead(int cls, int seg, Handle h) {
  List& l = lists_[cls][seg];
  Item* it = At(pool_, h);
  it->prev = kNullHandle;
  it->next = l.head;
  if (l.head != kNullHandle) At(pool_, l.head)->prev = h;
  l.head = h;
  if (l.tail == kNullHandle) l.tail = h;
  l.count++;
  it->set_segment(static_cast<LruSegment>(seg));
}

void SegmentedLru::Remove(int cls, int seg, Handle h) {
  List& l = lists_[cls][seg];
  Item* it = At(pool_, h);
  if (it->prev != kNullHandle) At(pool_, it->prev)->next = it->next;
  else l.head = it->next;
  if (it->next != kNullHandle) At(pool_, it->next)->prev = it->prev;
  else l.tail = it->prev;
  l.count--;
}

void SegmentedLru::Link(int cls, Handle h) {
  At(pool_, h)->set_active(false);
  PushHead(cls, static_cast<int>(LruSegment::kHot), h);
  Maintain(cls);
}

void SegmentedLru::Unlink(int cls, Handle h) {
  Remove(cls, static_cast<int>(At(pool_, h)->segment()), h);
}

void SegmentedLru::Relink(int cls, Handle old_h, Handle new_h) {
  Item* it = At(pool_, new_h);  // already a copy of the old item
  List& l = lists_[cls][static_cast<int>(it->segment())];
  if (it->prev != kNullHandle) At(pool_, it->prev)->next = new_h;
  else l.head = new_h;
  if (it->next != kNullHandle) At(pool_, it->next)->prev = new_h;
  else l.tail = new_h;
  (void)old_h;
}

Handle SegmentedLru::Prev(Handle h) const { return At(pool_, h)->prev; }

uint64_t SegmentedLru::Count(int cls) const {
  const auto& ls = lists_[cls];
  return ls[0].count + ls[1].count + ls[2].count;
}

void SegmentedLru::MoveTail(int cls, int from) {
  Handle h = lists_[cls][from].tail;
  Item* it = At(pool_, h);
  Remove(cls, from, h);
  int to = it->active() ? static_cast<int>(LruSegment::kWarm) : static_cast<int>(LruSegment::kCold);
  it->set_active(false);
  PushHead(cls, to, h);
}

void SegmentedLru::Maintain(int cls) {
  auto& ls = lists_[cls];
  uint64_t total = Count(cls);
  for (int step = 0; step < kMaxSteps; step++) {
    if (ls[0].count > 1 && ls[0].count * 100 > total * kHotPct) {
      MoveTail(cls, 0);
    } else if (ls[1].count > 1 && ls[1].count * 100 > total * kWarmPct) {
      // WARM spills to COLD; an item read again stays in WARM.
      Handle h = ls[1].tail;
      Item* it = At(pool_, h);
      Remove(cls, 1, h);
      bool again = it->active();
      it->set_active(false);
      PushHead(cls, again ? 1 : 2, h);
      if (again) continue;
    } else {
      return;
    }
  }
}

Handle SegmentedLru::Victim(int cls) {
  auto& ls = lists_[cls];
  for (int step = 0; step < kMaxSteps; step++) {
    Handle h = ls[2].tail;
    if (h == kNullHandle) break;
    Item* it = At(pool_, h);
    if (!it->active()) return h;
    Remove(cls, 2, h);  // second chance
    it->set_active(false);
    PushHead(cls, 1, h);
  }
  if (ls[2].tail != kNullHandle) return ls[2].tail;
  if (ls[1].tail != kNullHandle) return ls[1].tail;
  return ls[0].tail;
}

}  // namespace strata::cache
