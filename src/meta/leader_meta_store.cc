#include "meta/leader_meta_store.h"

namespace strata::meta {

Status LeaderMetaStore::Put(std::string_view key, std::string_view value) {
  WriteBatch batch;
  batch.Put(std::string(key), std::string(value));
  return Write(batch);
}

Status LeaderMetaStore::Delete(std::string_view key) {
  WriteBatch batch;
  batch.Delete(std::string(key));
  return Write(batch);
}

Status LeaderMetaStore::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  return election_->WriteAsLeader(batch, term_);
}

}  // namespace strata::meta
