// Item: the header every cached entry carries at the start of its slab chunk.
//
// Layout (40 bytes, then the key, then the value or an 8-byte pointer to an
// external value):
//
//   0  hnext     u32  next item in the same hash bucket (handle)
//   4  prev      u32  LRU neighbours (handles)
//   8  next      u32
//  12  flags     u32  memcached client flags
//  16  cas       u64  version, bumped on every write
//  24  expire_ms i64  absolute wall-clock ms, 0 = never
//  32  value_len u32  inline value bytes (8 when the value is external)
//  36  key_len   u16  key bytes (the namespace byte included)
//  38  cls       u8   slab class
//  39  bits      u8   type:3 segment:2 active:1 external:1 live:1
//  40  key, value...
//
// Handles instead of pointers (see page_pool.h) keep the links at 4 bytes each,
// which is most of the difference to memcached's 48-56 byte header.
//
// Thread-safety: plain memory; guarded by the owning shard's lock.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace strata::cache {

enum class ValueType : uint8_t { kString = 0, kHash = 1, kList = 2, kSet = 3, kZSet = 4, kStream = 5 };

enum class LruSegment : uint8_t { kHot = 0, kWarm = 1, kCold = 2 };

struct Item {
  uint32_t hnext;
  uint32_t prev;
  uint32_t next;
  uint32_t flags;
  uint64_t cas;
  int64_t expire_ms;
  uint32_t value_len;
  uint16_t key_len;
  uint8_t cls;
  uint8_t bits;

  static constexpr uint8_t kTypeMask = 0x07;
  static constexpr uint8_t kSegShift = 3;
  static constexpr uint8_t kSegMask = 0x18;
  static constexpr uint8_t kActive = 0x20;
  static constexpr uint8_t kExternal = 0x40;
  static constexpr uint8_t kLive = 0x80;

  char* data() { return reinterpret_cast<char*>(this + 1); }
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  std::string_view key() const { return {data(), key_len}; }
  std::string_view inline_value() const { return {data() + key_len, value_len}; }

  ValueType type() const { return static_cast<ValueType>(bits & kTypeMask); }
  LruSegment segment() const { return static_cast<LruSegment>((bits & kSegMask) >> kSegShift); }
  void set_segment(LruSegment s) {
    bits = static_cast<uint8_t>((bits & ~kSegMask) | (static_cast<uint8_t>(s) << kSegShift));
  }
  bool live() const { return bits & kLive; }
  bool active() const { return bits & kActive; }
  bool external() const { return bits & kExternal; }
  void set_active(bool on) { bits = on ? (bits | kActive) : (bits & ~kActive); }

  // Pointer to the external value (only when external()).
  void* external_ptr() const {
    void* p;
    std::memcpy(&p, data() + key_len, sizeof(p));
    return p;
  }
  void set_external_ptr(void* p) { std::memcpy(data() + key_len, &p, sizeof(p)); }

  static constexpr uint32_t TotalSize(uint32_t key_len, uint32_t value_len) {
    return static_cast<uint32_t>(sizeof(Item)) + key_len + value_len;
  }
};
static_assert(sizeof(Item) == 40, "item header layout is documented in docs/cache.md");

}  // namespace strata::cache
