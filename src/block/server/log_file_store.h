// LogFileStore: the few file operations a segment needs from the dfs, behind
// an interface so that segment tests (and the simulation) can use a store in
// memory that loses what was not acknowledged, fences old writers and fails
// on demand.
//
// Files are append-only with one writer. Fence() makes the caller the
// file's writer and closes it at once: the earlier writer's appends fail
// from then on (dfs writer epochs), and the file's length is what was
// acknowledged (or a little more: an append the writer never heard back
// about may be there whole).
//
// Thread-safety: implementations are thread-safe; a LogAppender is driven by
// one thread, a LogReader may be read from several at once.
// Ownership: the caller owns what it opens; the store must outlive them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "dfs_common.pb.h"

namespace strata::dfs {
class DfsClient;
}

namespace strata::block {

class LogAppender {
 public:
  virtual ~LogAppender() = default;
  // Returns once `data` is durable per the file's durability mode.
  virtual Status Append(std::string_view data) = 0;
  // Makes every appended byte durable also in `memory` durability (a no-op
  // for `sync` files, whose appends are durable when they return).
  virtual Status Sync() = 0;
  // Seals the file; no more appends.
  virtual Status Close() = 0;
  virtual uint64_t size() const = 0;
};

class LogReader {
 public:
  virtual ~LogReader() = default;
  // Exactly `n` bytes at `offset`, or an error (OutOfRange past the end).
  virtual Status ReadExact(uint64_t offset, char* buf, size_t n) = 0;
  // The same without waiting for any I/O: true with the bytes copied when
  // they are in memory, false (nothing read) when a read would have to
  // wait. Readers that keep nothing in memory always answer false.
  virtual bool ReadIfCached(uint64_t /*offset*/, char* /*buf*/, size_t /*n*/) { return false; }
  virtual uint64_t size() const = 0;
};

struct LogFileEntry {
  std::string name;
  uint64_t size = 0;
};

class LogFileStore {
 public:
  virtual ~LogFileStore() = default;
  virtual Status MakeDirs(const std::string& dir) = 0;
  // The files of `dir` (not directories); NotFound when `dir` is missing.
  virtual Result<std::vector<LogFileEntry>> List(const std::string& dir) = 0;
  // A new file; AlreadyExists when `path` exists.
  virtual Result<std::unique_ptr<LogAppender>> Create(const std::string& path, dfs::Durability durability) = 0;
  virtual Status Fence(const std::string& path) = 0;
  virtual Result<std::shared_ptr<LogReader>> OpenReader(const std::string& path) = 0;
  // Deleting a missing file is OK.
  virtual Status Delete(const std::string& path) = 0;
  // Replaces `to` if it exists.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
};

// The real store: files of the dfs, written with FileWriter (replicated,
// chasing writes) and read with FileReader.
std::unique_ptr<LogFileStore> NewDfsLogFileStore(dfs::DfsClient* client);

}  // namespace strata::block
