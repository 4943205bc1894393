// StreamObject: the Redis stream type (t_stream.c semantics) — an append-only
// log of entries keyed by 128-bit ids (ms-seq), plus consumer groups, each
// with its last delivered id, its pending entries list (PEL) and consumers.
//
// Redis keeps entries in a radix tree of listpacks; here an ordered map of
// ids stands in for both (O(log n) append, range and delete), and each PEL is
// an ordered map of ids to the owning consumer, as Redis's group PEL; every
// consumer keeps the set of ids it owns, as Redis's consumer PEL. Redis's
// entry counters (entries_added, max_deleted_entry_id, recorded first id,
// a group's entries_read) are kept the same way, so XINFO's lag matches.
//
// Approximate trimming (MAXLEN ~ / MINID ~) removes whole nodes only in
// Redis; with no nodes here, it removes entries in blocks of kNodeEntries
// (Redis's stream-node-max-entries default), so "~" keeps at least as many
// entries as asked, like Redis, and at most kNodeEntries - 1 more.
//
// Encode/Decode give the byte form the persist engine stores
// (docs/cache.md, "Stream records").
//
// Thread-safety: none; guarded by the lock of the shard holding the key.
// Ownership: the engine owns the object once it is stored (engine.h).
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cache/engine/objects.h"
#include "common/result.h"

namespace strata::cache {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  static constexpr StreamId Min() { return {0, 0}; }
  static constexpr StreamId Max() { return {UINT64_MAX, UINT64_MAX}; }
  bool IsZero() const { return ms == 0 && seq == 0; }
  // The successor / predecessor; false (and no change) at the ends.
  bool Incr();
  bool Decr();
  std::string ToString() const;
};

// An id as a command gave it: "ms-seq", "ms" (seq = missing_seq), "-" and
// "+" unless strict, and "ms-*" when `allow_auto_seq`.
struct ParsedStreamId {
  StreamId id;
  bool seq_given = true;  // false for "ms-*"
};
Result<ParsedStreamId> ParseStreamId(std::string_view s, uint64_t missing_seq, bool strict,
                                     bool allow_auto_seq = false);

struct StreamPending {
  std::string consumer;
  int64_t delivery_ms = 0;
  uint64_t delivery_count = 1;
};

struct StreamConsumer {
  int64_t seen_ms = 0;
  int64_t active_ms = -1;  // -1: never delivered to
  std::set<StreamId> pending;
};

struct StreamGroup {
  static constexpr int64_t kInvalidEntriesRead = -1;
  StreamId last_id;
  int64_t entries_read = kInvalidEntriesRead;
  std::map<StreamId, StreamPending> pel;
  std::map<std::string, StreamConsumer, std::less<>> consumers;
};

class StreamObject final : public ExternalValue {
 public:
  static constexpr uint64_t kNodeEntries = 100;
  using Entries = std::map<StreamId, std::vector<std::string>>;  // id -> field, value, field, value...

  StreamObject() : ExternalValue(ValueType::kStream) {}
  size_t MemoryUsage() const override;
  size_t Size() const override { return entries_.size(); }
  bool RemovedWhenEmpty() const override { return false; }  // an empty stream stays, as in Redis

  const Entries& entries() const { return entries_; }
  // The id XADD would give an entry now: "*" (`ms` unset) or "ms-*".
  // OutOfRange when no id above last_id remains; InvalidArgument when
  // "ms-*" cannot be above last_id.
  Result<StreamId> NextId(uint64_t now_ms, std::optional<uint64_t> ms) const;
  // REQUIRES: id > last_id.
  void Append(StreamId id, std::span<const std::string_view> fields_values);
  bool Delete(StreamId id);  // XDEL of one id
  // Trims to `maxlen` entries / to ids >= minid; `limit` bounds the removed
  // entries when approximate (0: none). Returns how many were removed.
  uint64_t TrimMaxLen(uint64_t maxlen, bool approx, uint64_t limit);
  uint64_t TrimMinId(StreamId minid, bool approx, uint64_t limit);

  // Redis's counters (XINFO, XSETID).
  StreamId last_id;
  StreamId first_id;          // recorded-first-entry-id
  StreamId max_deleted_id;    // max-deleted-entry-id
  uint64_t entries_added = 0;
  // The id of the last entry still present (0-0 when empty).
  StreamId LastValidId() const { return entries_.empty() ? StreamId{} : entries_.rbegin()->first; }

  // --- consumer groups ---
  std::map<std::string, StreamGroup, std::less<>>& groups() { return groups_; }
  const std::map<std::string, StreamGroup, std::less<>>& groups() const { return groups_; }
  StreamGroup* Group(std::string_view name);
  // The entries_read a group at `id` would have (Redis's
  // streamEstimateDistanceFromFirstEverEntry), or kInvalidEntriesRead.
  int64_t EstimateEntriesRead(StreamId id) const;
  bool RangeHasTombstones(StreamId start, StreamId end) const;
  // XINFO's lag of a group; nullopt when it cannot be known.
  std::optional<int64_t> Lag(const StreamGroup& g) const;
  // Records the delivery of entry `id` (from ">") to consumer `name` of `g`:
  // advances last_id and entries_read, and unless `noack` adds it to the PELs
  // (taking it from another consumer that had it).
  void Deliver(StreamGroup& g, std::string_view name, StreamId id, int64_t now_ms, bool noack);
  // Moves a pending entry to consumer `name` (XCLAIM, XAUTOCLAIM).
  static void Assign(StreamGroup& g, StreamPending& p, StreamId id, std::string_view name);
  // Drops pending entry `id` from the group and its consumer (XACK).
  static bool Ack(StreamGroup& g, StreamId id);

  // The persisted form (docs/cache.md) and back; Corruption on bad bytes.
  std::string Encode() const;
  static Result<std::unique_ptr<StreamObject>> Decode(std::string_view bytes);

 private:
  uint64_t RemoveFront(uint64_t n);
  Entries entries_;
  std::map<std::string, StreamGroup, std::less<>> groups_;
  size_t bytes_ = 0;  // field and value bytes
};

}  // namespace strata::cache
