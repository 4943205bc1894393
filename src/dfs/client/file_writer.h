// FileWriter: the single writer of one dfs file, using the chasing write.
//
// Each append is queued for every replica of the current chunk, at the
// offset the writer expects; each replica gets its appends in order, one in
// flight at a time, and the append is acknowledged once `min_copies`
// replicas have it durable (per the file's durability mode). The others
// chase: they may fall behind by a bounded number of bytes and leave an
// append unanswered for at most `replica_lag_ms_max`. A replica that fails,
// or lags beyond that, makes the writer seal
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

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "master.pb.h"
#include "rpc/direct_channel.h"
#include "rpc/frame.h"
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
  // One append waiting for, or travelling to, one replica. Shared by the
  // replicas' queues; freed when the last replica has it.
  struct PendingAppend {
    uint64_t end = 0;  // chunk offset after this append
    // The serialized AppendRequest and the data, checksummed once and sent
    // as they are to every replica.
    std::shared_ptr<const rpc::FrameBody> body;
  };
  // Each replica receives the appends in order, one at a time: its next
  // append is sent as soon as it answers the previous one, so a slow replica
  // chases the others instead of holding up the writer.
  struct Replica {
    ReplicaLocation location;
    rpc::DirectChannel* channel = nullptr;  // owned by channels_
    bool failed = false;
    uint64_t acked_end = 0;  // bytes of the chunk this replica acknowledged
    std::deque<std::shared_ptr<const PendingAppend>> queue;  // front is in flight
    uint64_t inflight_id = 0;  // request id of the front append; 0: none sent
    uint64_t sent_us = 0;      // when the in-flight append was sent
  };

  Status EnsureChunk();
  Status WritePiece(std::string_view piece, bool* written);
  // The connection to `addr`, connected, reused across chunks.
  Result<rpc::DirectChannel*> ChannelTo(const std::string& addr);
  // Sends the replica's next queued append if none is in flight.
  void Pump(Replica& r);
  // Sleeps up to `wait_us` until a replica answers, then collects every
  // answer, sends the next appends and drops the replicas that failed or lag
  // past the bounds.
  void Progress(uint64_t wait_us);
  void Collect(Replica& r);
  // Waits (bounded by replica_lag_ms_max) until every healthy replica has
  // every queued append; drops the ones that do not.
  void Drain();
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
  // One connection per chunkserver, driven by the writer's thread: a reply
  // wakes the writer directly (see rpc/direct_channel.h).
  std::map<std::string, std::unique_ptr<rpc::DirectChannel>> channels_;
  FileWriterStats stats_;
};

}  // namespace strata::dfs
