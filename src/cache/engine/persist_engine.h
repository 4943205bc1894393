// PersistEngine: the durable engine (Tair LDB) on RocksDB, for namespaces
// whose data must survive a crash — counters above all.
//
// Each item is one RocksDB record: key = internal key (namespace byte + user
// key), value = [type u8][flags u32][expire_ms i64][cas u64][bytes]. Every
// write goes through the write-ahead log before it is acknowledged, so an
// acknowledged write survives SIGKILL of the process (the WAL is in the OS
// page cache); surviving power loss would need sync writes and is not the
// goal. Strings, counters and streams: the other container types need the
// mem engine.
//
// A stream record's bytes are StreamObject::Encode() (docs/cache.md). Find
// decodes a stream once and keeps the object in a small per-shard cache
// (kCachedStreams, validated by the record's cas), so a command mutates it in
// place like a mem-engine container; ObjectChanged writes the whole stream
// back through the WAL. A stream write therefore costs O(stream size).
//
// Read-modify-write commands (INCR, APPEND) are atomic because callers hold
// the key's shard mutex (striped locks, see engine.h); RocksDB itself is
// thread-safe.
//
// Thread-safety: see engine.h. Views returned by Find point into a
// thread-local buffer valid until the next Find on the same thread.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "cache/engine/engine.h"
#include "env/clock.h"

namespace rocksdb { class DB; }

namespace strata::cache {

class PersistEngine final : public Engine {
 public:
  static Result<std::unique_ptr<PersistEngine>> Open(const std::string& dir, const Clock* clock);
  ~PersistEngine() override;

  size_t ShardCount() const override { return kShards; }
  size_t ShardOf(std::string_view key) const override;
  std::mutex& ShardMutex(size_t shard) override { return mu_[shard]; }

  bool Find(std::string_view key, ItemView* out) override;
  Result<uint64_t> PutString(std::string_view key, std::span<const std::string_view> pieces, uint32_t flags,
                             int64_t expire_ms) override;
  Status PutObject(std::string_view key, std::unique_ptr<ExternalValue> obj, int64_t expire_ms) override;
  void ObjectChanged(std::string_view key) override;
  bool Erase(std::string_view key) override;
  bool SetExpire(std::string_view key, int64_t expire_ms) override;

  uint64_t Count(uint8_t ns) override { return counts_[ns].load(); }
  uint64_t NamespaceBytes(uint8_t ns) override { return bytes_[ns].load(); }
  ExpiryStats Expiries(uint8_t ns) override;
  void Flush(int ns) override;
  uint64_t Scan(uint8_t ns, uint64_t cursor, size_t count,
                const std::function<void(std::string_view, ValueType)>& fn) override;
  nlohmann::json Stats() override;
  void Tick() override;
  bool SupportsContainers() const override { return false; }

 private:
  static constexpr size_t kShards = 64;
  static constexpr size_t kHeader = 1 + 4 + 8 + 8;
  static constexpr size_t kCachedStreams = 8;  // decoded streams kept per shard
  struct CachedStream {
    uint64_t cas = 0;
    uint32_t flags = 0;
    int64_t expire_ms = 0;
    std::unique_ptr<ExternalValue> object;
  };
  using StreamCache = std::unordered_map<std::string, CachedStream>;
  ExternalValue* CachedObject(std::string_view key, uint64_t cas, uint32_t flags, int64_t expire_ms,
                              std::string_view bytes);
  Status WriteStream(std::string_view key, CachedStream& c);
  StreamCache& cache(std::string_view key) { return streams_[ShardOf(key)]; }
  PersistEngine(rocksdb::DB* db, const Clock* clock);
  int64_t NowMs() const { return static_cast<int64_t>(clock_->WallMicros() / 1000); }
  bool ReadRaw(std::string_view key, std::string* raw);
  // Moves a key's term in expiries_ from the old record's expiry (none when
  // `old_raw` is empty) to `expire_ms`.
  void RetimeExpiry(uint8_t ns, std::string_view old_raw, int64_t expire_ms);
  Status WriteRaw(std::string_view key, const std::string& raw);

  rocksdb::DB* db_;
  const Clock* clock_;
  std::array<std::mutex, kShards> mu_;
  std::array<StreamCache, kShards> streams_;  // GUARDED_BY(mu_[shard])
  std::array<std::atomic<uint64_t>, 256> counts_{};
  std::array<std::atomic<uint64_t>, 256> bytes_{};
  ExpiryTally expiries_;
  std::atomic<uint64_t> next_cas_;
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<uint64_t> corrupt_records_{0};  // stream records that did not decode
  std::string expire_cursor_;  // only touched by Tick (one thread)
};

}  // namespace strata::cache
