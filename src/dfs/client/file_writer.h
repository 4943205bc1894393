// FileWriter: the single writer of one dfs file, using the chasing write.
//
// Each append is queued for every replica of the current chunk, at the
// offset the writer expects; each replica gets its appends in order, and the
// append is acknowledged once `min_copies` replicas have it durable (per the
// file's durability mode).
//
// By default Append() returns once its data is acknowledged, and each
// replica has one append in flight. With a window (SetWindow), Append()
// returns once its data is queued and at most `window` bytes are not yet
// acknowledged; each replica then has up to 4 appends in flight
// (kInflightPerReplicaMax) (ordered requests: the chunkserver applies them in order), so
// the transfer of one overlaps the disk write of the one before. Flush()
// waits for everything; an error found meanwhile is returned by the next
// call, and nothing after the acknowledged length is ever reported written.
//
// The other replicas
// chase: they may fall behind by a bounded number of bytes and leave an
// append unanswered for at most `replica_lag_ms_max`. A replica that fails,
// or lags beyond that, makes the writer seal
// the chunk at the acknowledged length (through the master, then on the
// replicas) and continue in a new chunk placed away from the servers that
// failed; the master re-replicates the sealed chunk later. No append waits
// for a slow replica beyond that bound.
//
// Appends are split at chunk boundaries; a full chunk is sealed and the next
// one allocated. Close() seals the last chunk and releases the file. While
// the writer is open, a LeaseRenewer keeps its lease at the master alive.
//
// Thread-safety: not thread-safe; one thread drives a writer.
// Ownership: borrows the DfsClient, which must outlive the writer.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
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
class LeaseRenewer;

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

  // Appends `data` to the end of the file; returns once it is acknowledged
  // (or, with a window, once at most `window` bytes are unacknowledged).
  // After any error the writer is failed: every later call returns that
  // error, and the file keeps exactly the acknowledged bytes (size()).
  Status Append(std::string_view data);
  // Returns once everything appended is acknowledged.
  Status Flush();
  // Flush(), then, for a `memory` durability file, makes the acknowledged
  // bytes durable: the replicas of the open chunk fdatasync them (sealed
  // chunks were synced at their seal). OK once at least min_copies replicas
  // synced; otherwise Unavailable, and the writer is not failed (the bytes
  // are still acknowledged in memory; a later Sync may succeed). A `sync`
  // file is durable at every acknowledgement: Sync() is Flush().
  Status Sync();
  // Bytes that may be appended but not yet acknowledged; 0 (the default):
  // each Append waits for its own acknowledgement.
  void SetWindow(uint64_t bytes) { window_ = bytes; }
  // Called as each append is acknowledged, with its size and the time from
  // Append() to its acknowledgement.
  void OnAcknowledged(std::function<void(uint64_t bytes, uint64_t latency_us)> sink) { on_ack_ = std::move(sink); }
  // Seals the last chunk and ends this writer's ownership of the file.
  Status Close();

  // Bytes acknowledged.
  uint64_t size() const { return file_size_; }
  const FileWriterStats& stats() const { return stats_; }

 private:
  // One append waiting for, or travelling to, the replicas. Shared by the
  // replicas' queues; freed when the last replica has it.
  struct PendingAppend {
    uint64_t end = 0;  // chunk offset after this append
    // The serialized AppendRequest and the data, checksummed once and sent
    // as they are to every replica.
    std::shared_ptr<const rpc::FrameBody> body;
    uint64_t submitted_us = 0;  // when Append() took it
  };
  // Each replica receives the appends in order: its next ones are sent as
  // soon as it has room in flight, so a slow replica chases the others
  // instead of holding up the writer.
  struct Replica {
    ReplicaLocation location;
    rpc::DirectChannel* channel = nullptr;  // owned by channels_
    bool failed = false;
    uint64_t acked_end = 0;  // bytes of the chunk this replica acknowledged
    std::deque<std::shared_ptr<const PendingAppend>> queue;  // not yet acknowledged here, oldest first
    size_t sent = 0;                   // the first `sent` of `queue` are in flight
    std::deque<uint64_t> inflight_ids; // their request ids, oldest first
    std::set<uint64_t> answered;       // in-flight ids answered before an older one
    uint64_t progress_us = 0;          // when it last sent into an idle pipe or answered
  };

  // A chunk with room for at least one more byte, the current one unless it
  // is full or lost a replica.
  Status AppendQueued(std::string_view data);
  // Records the first error: a call that failed may have left appends
  // queued or dropped, so nothing more may be written by this writer.
  Status Sticky(Status st);
  Status EnsureRoom();
  Status EnsureChunk();
  // Queues `piece` at the end of the current chunk for every replica.
  void Queue(std::string_view piece, uint64_t submitted_us);
  // Waits until at most `limit` bytes are unacknowledged, moving them to a
  // new chunk when the current one cannot reach a quorum any more.
  Status WaitAcked(uint64_t limit);
  // Moves the acknowledged appends from unacked_ to the file.
  void UpdateAcks();
  // Seals the current chunk at the acknowledged length and queues what was
  // not acknowledged in it again, in a new chunk.
  Status Reseal();
  // The connection to `addr`, connected, reused across chunks.
  Result<rpc::DirectChannel*> ChannelTo(const std::string& addr);
  // Sends the replica's queued appends while it has room in flight.
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
  bool AnyReplicaFailed() const;

  DfsClient* client_;
  std::string path_;
  uint64_t writer_epoch_;
  std::unique_ptr<LeaseRenewer> renewer_;  // renews the master's lease while open
  uint64_t chunk_size_;
  uint32_t min_copies_;
  Durability durability_;
  uint64_t file_size_ = 0;
  bool closed_ = false;

  uint64_t window_ = 0;
  Status failed_;  // the first error of Append/Flush/Close (see Sticky)
  std::function<void(uint64_t, uint64_t)> on_ack_;

  std::optional<ChunkInfo> chunk_;  // the open chunk being written
  uint64_t chunk_len_ = 0;          // bytes acknowledged in it
  uint64_t sent_len_ = 0;           // bytes queued in it (>= chunk_len_)
  // Appends queued in the chunk and not yet acknowledged, oldest first.
  std::deque<std::shared_ptr<const PendingAppend>> unacked_;
  uint64_t unacked_bytes_ = 0;
  std::vector<Replica> replicas_;
  std::set<std::string> exclude_;   // servers that failed for this writer
  // One connection per chunkserver, driven by the writer's thread: a reply
  // wakes the writer directly (see rpc/direct_channel.h).
  std::map<std::string, std::unique_ptr<rpc::DirectChannel>> channels_;
  FileWriterStats stats_;
};

}  // namespace strata::dfs
