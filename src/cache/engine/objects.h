// External values: data that does not live inside a slab chunk.
//
// A slab item whose value is external holds an 8-byte pointer to one of these.
// Big strings (over the largest slab class) and the Redis container types
// (hash, list, set, sorted set) are external. Each object keeps a running
// estimate of its heap footprint so the engine can charge it against the
// global memory budget in O(1) after every mutation.
//
// Sorted sets follow Redis's dual index (t_zset.c): a score-ordered tree for
// ranges plus a member -> score map for O(1) ZSCORE; std::set stands in for the
// skiplist (Pugh), so ZRANK is O(rank) rather than O(log n).
//
// Thread-safety: none; guarded by the lock of the shard holding the item.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "cache/engine/item.h"
#include "cache/engine/scan_order.h"

namespace strata::cache {

// Rough per-element heap overhead of the node-based std containers (node,
// bucket pointer, allocator rounding), so the estimate tracks real RSS.
inline constexpr size_t kNodeOverhead = 48;

class ExternalValue {
 public:
  explicit ExternalValue(ValueType type) : type_(type) {}
  virtual ~ExternalValue() = default;
  ValueType type() const { return type_; }
  // Estimated heap bytes; what the engine charges to the budget.
  virtual size_t MemoryUsage() const = 0;
  virtual size_t Size() const = 0;  // elements (or bytes for a string)
  // Whether the engine removes the key once Size() is 0 (containers, as in
  // Redis; not strings, not streams).
  virtual bool RemovedWhenEmpty() const { return type_ != ValueType::kString; }
  uint64_t charged = 0;             // what the engine charged last time

 private:
  ValueType type_;
};

class BigString final : public ExternalValue {
 public:
  explicit BigString(std::string s) : ExternalValue(ValueType::kString), value(std::move(s)) {}
  size_t MemoryUsage() const override { return sizeof(*this) + value.capacity(); }
  size_t Size() const override { return value.size(); }
  std::string value;
};

class HashObject final : public ExternalValue {
 public:
  HashObject() : ExternalValue(ValueType::kHash) {}
  size_t MemoryUsage() const override {
    return sizeof(*this) + bytes_ + map_.size() * kNodeOverhead + scan_.MemoryUsage();
  }
  size_t Size() const override { return map_.size(); }
  const std::string* Get(std::string_view field) const;
  // True when the field is new.
  bool Set(std::string_view field, std::string_view value);
  bool Del(std::string_view field);
  const std::unordered_map<std::string, std::string>& map() const { return map_; }
  // HSCAN's cursor step (scan_order.h): fn(field, value) for about `count`
  // fields; the first call indexes the hash (scan_indexed() turns true).
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, size_t count, Fn&& fn) {
    if (!scan_.built()) scan_.Build(map_);
    return scan_.Step(cursor, count, map_.size(), [&](const std::string& f) { fn(f, map_.find(f)->second); });
  }
  bool scan_indexed() const { return scan_.built(); }

 private:
  std::unordered_map<std::string, std::string> map_;
  ScanOrder scan_;
  size_t bytes_ = 0;
};

class ListObject final : public ExternalValue {
 public:
  ListObject() : ExternalValue(ValueType::kList) {}
  size_t MemoryUsage() const override { return sizeof(*this) + bytes_ + list_.size() * 32; }
  size_t Size() const override { return list_.size(); }
  void Push(bool left, std::string_view v);
  std::string Pop(bool left);
  const std::deque<std::string>& items() const { return list_; }
  std::string& At(size_t i) { return list_[i]; }
  void Set(size_t i, std::string_view v);
  // Keeps [start, stop] (inclusive, already clamped, start <= stop) only.
  void Trim(size_t start, size_t stop);
  // Removes up to |count| elements equal to v (count<0: from the tail, 0: all).
  size_t Remove(int64_t count, std::string_view v);
  void Insert(size_t pos, std::string_view v);

 private:
  std::deque<std::string> list_;
  size_t bytes_ = 0;
};

class SetObject final : public ExternalValue {
 public:
  SetObject() : ExternalValue(ValueType::kSet) {}
  size_t MemoryUsage() const override {
    return sizeof(*this) + bytes_ + set_.size() * kNodeOverhead + scan_.MemoryUsage();
  }
  size_t Size() const override { return set_.size(); }
  bool Add(std::string_view m);
  bool Remove(std::string_view m);
  bool Contains(std::string_view m) const { return set_.count(std::string(m)) > 0; }
  const std::unordered_set<std::string>& members() const { return set_; }
  // SSCAN's cursor step (scan_order.h): fn(member) for about `count` members.
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, size_t count, Fn&& fn) {
    if (!scan_.built()) scan_.Build(set_);
    return scan_.Step(cursor, count, set_.size(), fn);
  }
  bool scan_indexed() const { return scan_.built(); }

 private:
  std::unordered_set<std::string> set_;
  ScanOrder scan_;
  size_t bytes_ = 0;
};

class ZSetObject final : public ExternalValue {
 public:
  using Entry = std::pair<double, std::string>;
  ZSetObject() : ExternalValue(ValueType::kZSet) {}
  size_t MemoryUsage() const override {
    return sizeof(*this) + 2 * bytes_ + scores_.size() * 2 * kNodeOverhead + scan_.MemoryUsage();
  }
  size_t Size() const override { return scores_.size(); }
  const double* Score(std::string_view m) const;
  // Inserts or updates; true when the member is new.
  bool Set(std::string_view m, double score);
  bool Remove(std::string_view m);
  // 0-based rank in ascending order; -1 when absent.
  int64_t Rank(std::string_view m) const;
  const std::set<Entry>& ordered() const { return ordered_; }
  // ZSCAN's cursor step (scan_order.h): fn(member, score) for about `count`
  // members.
  template <typename Fn>
  uint64_t Scan(uint64_t cursor, size_t count, Fn&& fn) {
    if (!scan_.built()) scan_.Build(scores_);
    return scan_.Step(cursor, count, scores_.size(), [&](const std::string& m) { fn(m, scores_.find(m)->second); });
  }
  bool scan_indexed() const { return scan_.built(); }

 private:
  std::set<Entry> ordered_;
  std::unordered_map<std::string, double> scores_;
  ScanOrder scan_;
  size_t bytes_ = 0;
};

}  // namespace strata::cache
