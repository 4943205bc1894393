// FileSystem and File: the only way Strata code touches local disks.
//
// Small on purpose (as LevelDB's Env and RocksDB's FileSystem): positional
// reads and writes, sync, truncate, and the directory operations chunk stores
// and metadata need. Implementations: posix/ (real), memory/ (in memory, for
// tests and fuzz harnesses) and fault/ (a wrapper that adds latency, errors,
// full disks, freezes, and drops unsynced data on a simulated crash).
//
// Thread-safety: FileSystem methods are thread-safe. A File may be used from
// several threads for ReadAt; writers must serialise WriteAt/Sync/Truncate.
// Ownership: OpenFile returns a File and LockFile a FileLock the caller owns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace strata {

class File {
 public:
  virtual ~File() = default;
  // Reads up to `n` bytes at `offset` into `buf`; returns the count read,
  // fewer than `n` only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, void* buf, size_t n) = 0;
  // Writes all `n` bytes at `offset`.
  virtual Status WriteAt(uint64_t offset, const void* buf, size_t n) = 0;
  // Advice: the cached pages of [offset, offset + n) will not be needed
  // soon (POSIX_FADV_DONTNEED), so their memory can be reused at once. Only
  // for data already made durable by Sync(): dirty pages are not dropped.
  virtual void DropCache(uint64_t offset, uint64_t n) {}
  // Makes everything written so far durable (fdatasync).
  virtual Status Sync() = 0;
  virtual Status Truncate(uint64_t size) = 0;
  virtual Result<uint64_t> Size() = 0;
  virtual const std::string& path() const = 0;
};

// An exclusive lock on a file, held until the FileLock is destroyed or its
// process ends (however it ends).
class FileLock {
 public:
  virtual ~FileLock() = default;
  virtual const std::string& path() const = 0;
};

struct DiskSpace {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t device_id = 0;  // the file system's id (statvfs f_fsid); 0: unknown
};

enum class OpenMode { kRead, kReadWrite, kCreate /* read-write, created if missing */ };

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  virtual Result<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) = 0;
  virtual Status CreateDirs(const std::string& path) = 0;
  // Names (not paths) of the entries of a directory, sorted.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // fsync of a directory, so that creations and renames in it are durable.
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<DiskSpace> GetDiskSpace(const std::string& path) = 0;
  // Takes an exclusive lock on `path` (created if missing) without waiting,
  // and writes the caller's pid into the file. A lock held by another
  // process, or by another FileLock of this one, is FailedPrecondition
  // ("PATH is locked by pid N").
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// A FileSystem that forwards every call; fault wrappers override what they
// change (LevelDB's EnvWrapper).
class FileSystemWrapper : public FileSystem {
 public:
  explicit FileSystemWrapper(std::shared_ptr<FileSystem> target) : target_(std::move(target)) {}
  Result<std::unique_ptr<File>> OpenFile(const std::string& p, OpenMode m) override { return target_->OpenFile(p, m); }
  Status CreateDirs(const std::string& p) override { return target_->CreateDirs(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override { return target_->ListDir(p); }
  Status RemoveFile(const std::string& p) override { return target_->RemoveFile(p); }
  Status Rename(const std::string& a, const std::string& b) override { return target_->Rename(a, b); }
  bool Exists(const std::string& p) override { return target_->Exists(p); }
  Status SyncDir(const std::string& p) override { return target_->SyncDir(p); }
  Result<DiskSpace> GetDiskSpace(const std::string& p) override { return target_->GetDiskSpace(p); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& p) override { return target_->LockFile(p); }
  FileSystem* target() { return target_.get(); }

 protected:
  std::shared_ptr<FileSystem> target_;
};

}  // namespace strata
