#include "meta/rocksdb_meta_store.h"

#include <exception>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

namespace strata::meta {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string msg = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsNoSpace()) return Status::NoSpace(msg);
  if (s.IsIOError()) return Status::IoError(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut()) return Status::Unavailable(msg);
  return Status::Internal(msg);
}

rocksdb::WriteOptions SyncWrite() {
  rocksdb::WriteOptions w;
  w.sync = true;
  return w;
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

RocksDbMetaStore::RocksDbMetaStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

RocksDbMetaStore::~RocksDbMetaStore() {
  if (db_) {
    rocksdb::Status s = db_->Close();
    (void)s;
  }
}

Result<std::unique_ptr<RocksDbMetaStore>> RocksDbMetaStore::Open(const std::string& path) {
  try {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.paranoid_checks = true;
    options.max_open_files = 256;
    options.keep_log_file_num = 4;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
    RETURN_IF_ERROR(FromRocks(s, "open metadata db " + path));
    return std::unique_ptr<RocksDbMetaStore>(new RocksDbMetaStore(std::unique_ptr<rocksdb::DB>(raw)));
  } catch (const std::exception& e) {
    return Status::Internal("open metadata db " + path + ": " + e.what());
  }
}

Result<std::string> RocksDbMetaStore::Get(std::string_view key) {
  try {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
    if (s.IsNotFound()) return Status::NotFound("meta key not found");
    RETURN_IF_ERROR(FromRocks(s, "metadata get"));
    return value;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("metadata get: ") + e.what());
  }
}

Status RocksDbMetaStore::Put(std::string_view key, std::string_view value) {
  try {
    return FromRocks(db_->Put(SyncWrite(), ToSlice(key), ToSlice(value)), "metadata put");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("metadata put: ") + e.what());
  }
}

Status RocksDbMetaStore::Delete(std::string_view key) {
  try {
    return FromRocks(db_->Delete(SyncWrite(), ToSlice(key)), "metadata delete");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("metadata delete: ") + e.what());
  }
}

Status RocksDbMetaStore::Write(const WriteBatch& batch) {
  if (batch.empty()) return Status::Ok();
  try {
    rocksdb::WriteBatch wb;
    for (const auto& op : batch.ops()) {
      rocksdb::Status s = op.is_delete ? wb.Delete(op.key) : wb.Put(op.key, op.value);
      RETURN_IF_ERROR(FromRocks(s, "metadata batch"));
    }
    return FromRocks(db_->Write(SyncWrite(), &wb), "metadata write");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("metadata write: ") + e.what());
  }
}

Status RocksDbMetaStore::ScanPrefix(std::string_view prefix, const ScanFn& fn) {
  try {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), "metadata scan");
  } catch (const std::exception& e) {
    return Status::Internal(std::string("metadata scan: ") + e.what());
  }
}

}  // namespace strata::meta
