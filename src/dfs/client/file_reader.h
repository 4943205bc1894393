// FileReader: reads a dfs file from any good replica of each chunk.
//
// A read goes to one replica of the chunk (rotating the starting replica by
// chunk id so readers spread over servers, replicas the master marks slow
// last: replica_order.h). A replica that fails is skipped for the next one; a replica whose data does not match its checksum
// (Corruption, found by the chunkserver or by the end-to-end CRC of the
// reply) is reported to the master, which replaces it, and the read goes on
// from another replica. When every replica of a chunk fails (the chunk was
// moved since the reader opened: recovery or the balancer copied it and
// deleted the copies the reader knew), the reader asks the master for the
// file's current chunk locations once and tries those.
//
// Thread-safety: ReadAt may be called from several threads at once.
// Ownership: borrows the DfsClient, which must outlive the reader.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "common/result.h"
#include "master.pb.h"

namespace strata::dfs {

class DfsClient;

class FileReader {
 public:
  FileReader(DfsClient* client, std::string path, StatResponse stat);

  uint64_t size() const { return size_; }
  // Reads up to `n` bytes at `offset`; fewer only at the end of the file.
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n);

  uint64_t corruptions_detected() const { return corruptions_.load(); }
  uint64_t failovers() const { return failovers_.load(); }
  uint64_t location_refreshes() const { return refreshes_.load(); }

 private:
  Result<size_t> ReadFromChunk(const ChunkInfo& chunk, uint64_t offset_in_chunk, char* buf, size_t n);
  // The chunk holding `pos` in `stat`, or null past the end of the data.
  static const ChunkInfo* ChunkAt(const StatResponse& stat, uint64_t pos);
  std::shared_ptr<const StatResponse> Snapshot() const;
  // Stats the file again; the new locations replace the old when `seen` is
  // still current (another thread may have refreshed already).
  Result<std::shared_ptr<const StatResponse>> Refresh(const std::shared_ptr<const StatResponse>& seen);
  void ReportBadReplica(const ChunkInfo& chunk, const ReplicaLocation& loc, const Status& why);

  DfsClient* client_;
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const StatResponse> stat_;  // GUARDED_BY(mu_)
  uint64_t size_ = 0;
  std::atomic<uint64_t> corruptions_{0};
  std::atomic<uint64_t> failovers_{0};
  std::atomic<uint64_t> refreshes_{0};
};

}  // namespace strata::dfs
