// MetaStore: the durable key-value store behind the metadata of the control
// roles (dfs master, block manager).
//
// Keys and values are byte strings; keys sort bytewise, so a role lays out its
// records under prefixes ("i/<inode>", "c/<chunk>") and reloads them with
// ScanPrefix. Every mutation is durable when it returns OK: the RocksDB
// backend writes its WAL with sync, so an acknowledged mutation survives
// SIGKILL and power loss. A WriteBatch is applied atomically: after a crash
// either all of its operations are visible or none.
//
// Backends: RocksDbMetaStore (embedded, the default) and MemoryMetaStore (for
// unit tests; nothing survives the process).
//
// Thread-safety: implementations are thread-safe. Ownership: the caller owns
// the store; it must outlive everything that uses it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace strata::meta {

// An ordered list of puts and deletes applied atomically by MetaStore::Write.
class WriteBatch {
 public:
  struct Op {
    bool is_delete = false;
    std::string key;
    std::string value;
  };
  void Put(std::string key, std::string value) { ops_.push_back({false, std::move(key), std::move(value)}); }
  void Delete(std::string key) { ops_.push_back({true, std::move(key), {}}); }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }
  void Clear() { ops_.clear(); }

 private:
  std::vector<Op> ops_;
};

class MetaStore {
 public:
  // Called for each key under a prefix, in key order; return false to stop.
  using ScanFn = std::function<bool(std::string_view key, std::string_view value)>;

  virtual ~MetaStore() = default;

  // NotFound when the key is absent.
  virtual Result<std::string> Get(std::string_view key) = 0;
  virtual Status Put(std::string_view key, std::string_view value) = 0;
  // Deleting an absent key is OK.
  virtual Status Delete(std::string_view key) = 0;
  // Applies every operation of `batch` atomically and durably.
  virtual Status Write(const WriteBatch& batch) = 0;
  // Visits every key starting with `prefix` in ascending order.
  virtual Status ScanPrefix(std::string_view prefix, const ScanFn& fn) = 0;
};

}  // namespace strata::meta
