// MemoryMetaStore: a MetaStore in a std::map, for unit tests. Same semantics as
// the RocksDB backend (atomic batches, ordered prefix scans) minus durability.
//
// Thread-safety: thread-safe (one mutex). ScanPrefix calls `fn` under that
// mutex, so `fn` must not call back into the store.
#pragma once

#include <map>
#include <mutex>

#include "meta/meta_store.h"

namespace strata::meta {

class MemoryMetaStore final : public MetaStore {
 public:
  Result<std::string> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn) override;

  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> data_;  // GUARDED_BY(mu_)
};

}  // namespace strata::meta
