// FileReader: reads a dfs file from any good replica of each chunk.
//
// A read goes to one replica of the chunk (rotating the starting replica by
// chunk id so readers spread over servers, replicas the master marks slow
// last: replica_order.h). A replica that fails is skipped for the next one; a replica whose data does not match its checksum
// (Corruption, found by the chunkserver or by the end-to-end CRC of the
// reply) is reported to the master, which replaces it, and the read goes on
// from another replica.
//
// Thread-safety: ReadAt may be called from several threads at once.
// Ownership: borrows the DfsClient, which must outlive the reader.
#pragma once

#include <atomic>
#include <string>

#include "common/result.h"
#include "master.pb.h"

namespace strata::dfs {

class DfsClient;

class FileReader {
 public:
  FileReader(DfsClient* client, StatResponse stat);

  uint64_t size() const { return size_; }
  // Reads up to `n` bytes at `offset`; fewer only at the end of the file.
  Result<size_t> ReadAt(uint64_t offset, char* buf, size_t n);

  uint64_t corruptions_detected() const { return corruptions_.load(); }
  uint64_t failovers() const { return failovers_.load(); }

 private:
  Result<size_t> ReadFromChunk(const ChunkInfo& chunk, uint64_t offset_in_chunk, char* buf, size_t n);
  void ReportBadReplica(const ChunkInfo& chunk, const ReplicaLocation& loc, const Status& why);

  DfsClient* client_;
  StatResponse stat_;
  uint64_t size_ = 0;
  std::atomic<uint64_t> corruptions_{0};
  std::atomic<uint64_t> failovers_{0};
};

}  // namespace strata::dfs
