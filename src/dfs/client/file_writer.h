// FileWriter: the single writer of one dfs file, using the chasing write.
//
// Each append is sent to every replica of the current chunk in parallel, at
// the offset the writer expects; it is acknowledged once `min_copies`
// replicas have it durable (per the file's durability mode). A replica that
// answers later is given until the next append plus `replica_lag_ms_max` to
// catch up. A replica that fails, or lags beyond that, makes the writer seal
// the chunk at the acknowledged length (through the master, then on the
// replicas) and continue in a new chunk placed away from the servers that
// failed; the master re-replicates the sealed chunk later. No append waits
// for a slow replica beyond that bound.
//
// Appends are split at chunk boundaries; a full chunk is sealed and the next
// one allocated. Close() seals the last chunk and releases the file.
//
// Thread-safety: not thread-safe; one thread drives a writer.
// Ownership: borrows the DfsClient, which must outlive the writer.
#pragma once

#include <future>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "master.pb.h"
#include "rpc/server.h"

namespace strata::dfs {

class DfsClient;

struct FileWriterStats {
  uint64_t chunks_allocated = 0;
  uint64_t chunks_sealed_early = 0;  // sealed before full because a replica failed or lagged
  uint64_t replicas_dropped = 0;
  uint64_t appends = 0;
};

class FileWriter {
 public:
  FileWriter(DfsClient* client, std::string path, const OpenWriteResponse& opened);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // Appends `data` to the end of the file; returns once it is acknowledged.
  Status Append(std::string_view data);
  // Seals the last chunk and ends this writer's ownership of the file.
  Status Close();

  uint64_t size() const { return file_size_; }
  const FileWriterStats& stats() const { return stats_; }

 private:
  struct Replica {
    ReplicaLocation location;
    bool failed = false;
    std::optional<std::future<Result<rpc::RpcReply>>> inflight;
  };

  Status EnsureChunk();
  Status WritePiece(std::string_view piece, bool* written);
  // Waits (bounded) for a replica's outstanding append; false if it failed.
  bool Settle(Replica& r, uint32_t wait_ms);
  Status SealCurrent(bool early);
  void DropReplica(Replica& r, const Status& why);

  DfsClient* client_;
  std::string path_;
  uint64_t writer_epoch_;
  uint64_t chunk_size_;
  uint32_t min_copies_;
  Durability durability_;
  uint64_t file_size_ = 0;
  bool closed_ = false;

  std::optional<ChunkInfo> chunk_;  // the open chunk being written
  uint64_t chunk_len_ = 0;          // bytes acknowledged in it
  std::vector<Replica> replicas_;
  std::set<std::string> exclude_;   // servers that failed for this writer
  FileWriterStats stats_;
};

}  // namespace strata::dfs
