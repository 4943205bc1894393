// RocksDbMetaStore: the embedded MetaStore backend, one RocksDB database in a
// directory owned by the role.
//
// Durability: every write uses WriteOptions::sync, so the WAL is fsynced before
// a mutation is acknowledged; a process killed with SIGKILL (or a power loss)
// after an OK loses nothing. RocksDB errors and exceptions never escape: they
// become IoError / Corruption / Internal statuses.
//
// Thread-safety: thread-safe (RocksDB is). Ownership: owns the database handle;
// destroying the store closes it.
#pragma once

#include <memory>
#include <string>

#include "meta/meta_store.h"

namespace rocksdb { class DB; }

namespace strata::meta {

class RocksDbMetaStore final : public MetaStore {
 public:
  // Opens (creating if missing) the database in directory `path`.
  static Result<std::unique_ptr<RocksDbMetaStore>> Open(const std::string& path);
  ~RocksDbMetaStore() override;

  Result<std::string> Get(std::string_view key) override;
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn) override;

 private:
  explicit RocksDbMetaStore(std::unique_ptr<rocksdb::DB> db);
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace strata::meta
