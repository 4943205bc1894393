// ScanOrder: the elements of one container (hash fields, set members,
// sorted-set members) in a fixed order, for the cursors of HSCAN, SSCAN and
// ZSCAN.
//
// Redis walks a container's own power-of-two hash table with dictScan's
// reverse-binary cursor (Pieter Noordhuis): visiting bucket v of a table of
// 2^k buckets takes the elements whose hash ends in the k bits of v, and the
// cursor counts with its bits reversed. Read with the bits reversed, a bucket
// is a contiguous range of ReverseBits(hash), and the walk goes through that
// range in ascending order whatever k is on each call. So this index keeps
// the element keys ordered by ReverseBits(HashKey(key)), and a scan step is
// a range walk: from the position the cursor encodes up to the end of the
// bucket (of a virtual table sized for the container now) in which the
// COUNT-th element falls (0 once no element is left beyond). Everything before the cursor's position was
// visited by earlier steps, so an element present during the whole scan is
// returned at least once (here exactly once) however much the container
// grows or shrinks in between, and the cursors look like Redis's (below the
// table size).
//
// The containers are std::unordered_* (prime bucket counts), which cannot
// give this guarantee, so the index is separate and built on the first scan
// that needs a cursor (containers never scanned pay nothing); after that the
// container keeps it up to date on every insert and erase. It holds pointers
// to the container's keys, which stay valid because node-based containers
// never move an element; a copy of the container therefore starts without
// an index.
//
// Thread-safety: none; guarded by the lock of the shard holding the item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <utility>

#include "cache/engine/hash_index.h"

namespace strata::cache {

class ScanOrder {
 public:
  ScanOrder() = default;
  ScanOrder(const ScanOrder&) {}
  ScanOrder& operator=(const ScanOrder&) {
    entries_.clear();
    built_ = false;
    return *this;
  }

  bool built() const { return built_; }
  // Indexes every key of `keys` (an iterable of std::string or of pairs whose
  // first is the key, as the container holds them).
  template <typename Container>
  void Build(const Container& keys);
  // REQUIRES: `key` points into the container and stays valid until Erase.
  void Insert(const std::string* key) {
    if (built_) entries_.emplace(Position(*key), key);
  }
  // REQUIRES: called before the container erases the element.
  void Erase(const std::string* key) {
    if (built_) entries_.erase({Position(*key), key});
  }
  size_t MemoryUsage() const { return entries_.size() * kEntryBytes; }

  // One scan step from `cursor` over a container of `size` elements: calls
  // fn(key) for about `count` keys (whole virtual buckets) and returns the
  // next cursor, 0 when the walk is complete. REQUIRES: built().
  template <typename Fn>
  uint64_t Step(uint64_t cursor, size_t count, size_t size, Fn&& fn) const;

 private:
  // std::set node (~32 bytes) plus the 16-byte entry.
  static constexpr size_t kEntryBytes = 48;
  using Entry = std::pair<uint64_t, const std::string*>;
  struct Less {
    bool operator()(const Entry& a, const Entry& b) const {
      if (a.first != b.first) return a.first < b.first;
      if (a.second == nullptr || b.second == nullptr) return a.second == nullptr && b.second != nullptr;
      return *a.second < *b.second;
    }
  };
  static uint64_t Position(const std::string& key) { return ReverseBits(HashKey(key)); }
  static const std::string& KeyOf(const std::string& s) { return s; }
  template <typename V>
  static const std::string& KeyOf(const std::pair<const std::string, V>& p) {
    return p.first;
  }

  std::set<Entry, Less> entries_;
  bool built_ = false;
};

template <typename Container>
void ScanOrder::Build(const Container& keys) {
  entries_.clear();
  for (const auto& e : keys) {
    const std::string& k = KeyOf(e);
    entries_.emplace(Position(k), &k);
  }
  built_ = true;
}

template <typename Fn>
uint64_t ScanOrder::Step(uint64_t cursor, size_t count, size_t size, Fn&& fn) const {
  // The table Redis would have for `size` elements: a power of two, at least 4.
  int bits = 2;
  while (bits < 62 && (uint64_t{1} << bits) < size) bits++;
  const int shift = 64 - bits;
  const uint64_t buckets = uint64_t{1} << bits;
  size_t visited = 0;
  auto it = entries_.lower_bound({ReverseBits(cursor), nullptr});
  while (it != entries_.end()) {
    uint64_t bucket = it->first >> shift;
    for (; it != entries_.end() && (it->first >> shift) == bucket; ++it, ++visited) fn(*it->second);
    if (bucket + 1 == buckets || it == entries_.end()) return 0;
    if (visited >= count) return ReverseBits((bucket + 1) << shift);
  }
  return 0;
}

}  // namespace strata::cache
