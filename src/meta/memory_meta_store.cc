#include "meta/memory_meta_store.h"

namespace strata::meta {

Result<std::string> MemoryMetaStore::Get(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = data_.find(key);
  if (it == data_.end()) return Status::NotFound("meta key not found");
  return it->second;
}

Status MemoryMetaStore::Put(std::string_view key, std::string_view value) {
  std::lock_guard lock(mu_);
  data_[std::string(key)] = std::string(value);
  return Status::Ok();
}

Status MemoryMetaStore::Delete(std::string_view key) {
  std::lock_guard lock(mu_);
  auto it = data_.find(key);
  if (it != data_.end()) data_.erase(it);
  return Status::Ok();
}

Status MemoryMetaStore::Write(const WriteBatch& batch) {
  std::lock_guard lock(mu_);
  for (const auto& op : batch.ops()) {
    if (op.is_delete) {
      data_.erase(op.key);
    } else {
      data_[op.key] = op.value;
    }
  }
  return Status::Ok();
}

Status MemoryMetaStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  std::lock_guard lock(mu_);
  for (auto it = data_.lower_bound(prefix); it != data_.end(); ++it) {
    if (std::string_view(it->first).substr(0, prefix.size()) != prefix) break;
    if (!fn(it->first, it->second)) break;
  }
  return Status::Ok();
}

size_t MemoryMetaStore::size() const {
  std::lock_guard lock(mu_);
  return data_.size();
}

}  // namespace strata::meta
