// LeaderMetaStore: the MetaStore a leader of a replicated role (the dfs
// master on etcd, docs/etcd.md) uses during one term. Reads go to etcd as
// they are; every write (Put, Delete, Write) is LeaderElection::WriteAsLeader
// in the term the store was made for, so the write lands only if this
// candidate still holds the election key of that term, in the same etcd
// transaction. A deposed leader (paused past its lease, or one that lost
// leadership and won it again: a new term, a new store) gets
// FailedPrecondition and nothing is written.
//
// Thread-safety: thread-safe (the store and the election are). Ownership:
// borrows both; they must outlive it.
#pragma once

#include <cstdint>

#include "meta/etcd_meta_store.h"
#include "meta/leader_election.h"
#include "meta/meta_store.h"

namespace strata::meta {

class LeaderMetaStore final : public MetaStore {
 public:
  LeaderMetaStore(EtcdMetaStore* store, LeaderElection* election, int64_t term)
      : store_(store), election_(election), term_(term) {}

  Result<std::string> Get(std::string_view key) override { return store_->Get(key); }
  Status Put(std::string_view key, std::string_view value) override;
  Status Delete(std::string_view key) override;
  Status Write(const WriteBatch& batch) override;
  Status ScanPrefix(std::string_view prefix, const ScanFn& fn) override { return store_->ScanPrefix(prefix, fn); }

  int64_t term() const { return term_; }

 private:
  EtcdMetaStore* const store_;
  LeaderElection* const election_;
  const int64_t term_;
};

}  // namespace strata::meta
