// Engine: the storage interface behind every namespace (Tair's storage
// engines). Two implementations: MemEngine (slab allocator, evicting; Tair MDB)
// and PersistEngine (RocksDB, never loses an acknowledged write; Tair LDB).
//
// Keys given to an engine are internal keys: one namespace byte followed by the
// user's key. Engines are sharded by key hash; a caller locks the shards of
// the keys it touches (KeyLock below, in ascending shard order so multi-key
// commands cannot deadlock) and then calls the per-key methods, which may
// therefore be combined atomically (INCR, APPEND, RENAME, SMOVE...).
//
// Thread-safety: per-key methods REQUIRE the key's shard mutex held; the
// whole-engine methods (Count, Flush, Scan, Stats, Tick) lock internally and
// must be called without any shard lock held.
// Ownership: objects passed to PutObject become owned by the engine.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "cache/engine/item.h"
#include "cache/engine/objects.h"
#include "common/result.h"

namespace strata::cache {

struct ItemView {
  ValueType type = ValueType::kString;
  std::string_view value;            // string values; valid until the next call on this shard
  ExternalValue* object = nullptr;   // container values
  uint32_t flags = 0;
  uint64_t cas = 0;
  int64_t expire_ms = 0;             // absolute wall-clock ms; 0 = no expiry
};

// Told of the items an engine removes on its own: expired ones it reclaims
// (on access or in the background) and ones it evicts for room. Called with
// the item's shard lock held, with the internal key: it must not call into
// the engine.
class RemovalListener {
 public:
  virtual void OnExpired(std::string_view key) = 0;
  virtual void OnEvicted(std::string_view key) = 0;

 protected:
  ~RemovalListener() = default;
};

// Keys with an expiry in one namespace, for INFO keyspace.
struct ExpiryStats {
  uint64_t keys = 0;
  int64_t avg_ttl_ms = 0;  // mean time left; 0 when no key has an expiry
};

// Per namespace: how many keys have an expiry and the sum of their expiry
// times, kept as keys are stored, re-timed and removed, so INFO reads two
// numbers instead of walking the keyspace. The sum is in seconds (each term
// capped at 2^36 s, the year 4147) so a billion keys cannot overflow it;
// adding and removing the same term cancel exactly. Expired keys not yet
// reclaimed still count, as in Redis.
//
// Thread-safety: relaxed atomics; any thread.
class ExpiryTally {
 public:
  void Add(uint8_t ns, int64_t expire_ms, int sign) {
    if (expire_ms == 0) return;
    uint64_t s = std::min<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(expire_ms, 0)) / 1000, 1ull << 36);
    if (sign > 0) {
      keys_[ns].fetch_add(1, std::memory_order_relaxed);
      sum_s_[ns].fetch_add(s, std::memory_order_relaxed);
    } else {
      keys_[ns].fetch_sub(1, std::memory_order_relaxed);
      sum_s_[ns].fetch_sub(s, std::memory_order_relaxed);
    }
  }
  void Clear(int ns) {
    for (int i = 0; i < 256; i++) {
      if (ns < 0 || i == ns) keys_[i] = sum_s_[i] = 0;
    }
  }
  uint64_t keys(uint8_t ns) const { return keys_[ns].load(std::memory_order_relaxed); }
  uint64_t sum_s(uint8_t ns) const { return sum_s_[ns].load(std::memory_order_relaxed); }

 private:
  std::array<std::atomic<uint64_t>, 256> keys_{};
  std::array<std::atomic<uint64_t>, 256> sum_s_{};
};

// Sums tallies into ExpiryStats at `now_ms`.
ExpiryStats SumExpiries(std::span<const ExpiryTally* const> tallies, uint8_t ns, int64_t now_ms);

class Engine {
 public:
  virtual ~Engine() = default;

  virtual size_t ShardCount() const = 0;
  virtual size_t ShardOf(std::string_view key) const = 0;
  virtual std::mutex& ShardMutex(size_t shard) = 0;

  // --- per-key; REQUIRES the key's shard lock -------------------------------
  // False when absent or expired (an expired item is removed on the spot).
  virtual bool Find(std::string_view key, ItemView* out) = 0;
  // Stores the concatenation of `pieces` as a string (replacing any value).
  // Pieces may point into the current value of the same key, nowhere else in
  // the engine. Returns the new CAS. ResourceExhausted when it cannot fit.
  virtual Result<uint64_t> PutString(std::string_view key, std::span<const std::string_view> pieces,
                                     uint32_t flags, int64_t expire_ms) = 0;
  // Stores a container (hash/list/set/zset). NotSupported on engines without them.
  virtual Status PutObject(std::string_view key, std::unique_ptr<ExternalValue> obj, int64_t expire_ms) = 0;
  // Call after mutating a container found through Find: re-charges its memory
  // and removes the key when the container became empty.
  virtual void ObjectChanged(std::string_view key) = 0;
  virtual bool Erase(std::string_view key) = 0;
  // 0 clears the expiry. False when the key does not exist.
  virtual bool SetExpire(std::string_view key, int64_t expire_ms) = 0;

  // --- whole engine; lock internally -----------------------------------------
  virtual uint64_t Count(uint8_t ns) = 0;
  virtual uint64_t NamespaceBytes(uint8_t ns) = 0;
  virtual ExpiryStats Expiries(uint8_t ns) = 0;
  // Removes every key of `ns`, or of all namespaces when ns < 0.
  virtual void Flush(int ns) = 0;
  // Visits some keys (user part, without the namespace byte) of `ns` from
  // `cursor`; returns the next cursor, 0 when the iteration is complete.
  virtual uint64_t Scan(uint8_t ns, uint64_t cursor, size_t count,
                        const std::function<void(std::string_view, ValueType)>& fn) = 0;
  virtual nlohmann::json Stats() = 0;
  // Background work in bounded steps (expiry, page merging, rebalancing).
  virtual void Tick() = 0;
  virtual bool SupportsContainers() const = 0;
};

// Locks the shards of a set of keys in ascending order; unlocks on destruction.
// The single-key form (nearly every request) does not allocate.
class KeyLock {
 public:
  KeyLock(Engine* engine, std::string_view key);
  KeyLock(Engine* engine, std::span<const std::string> keys);
  ~KeyLock();
  KeyLock(const KeyLock&) = delete;
  KeyLock& operator=(const KeyLock&) = delete;

 private:
  Engine* engine_;
  size_t single_ = 0;
  bool multi_ = false;
  std::vector<size_t> shards_;  // multi-key form only
};

}  // namespace strata::cache
