// Segment: one segment of a volume, served by this blockserver, stored
// log-structured in dfs files (the EBS2 design: the data files are the log;
// docs/block.md says why, docs/block_formats.md gives the bytes).
//
// Layout in the dfs, under `dir` (/block/v<volume>/s<index>):
//   log-NNNNNNNNNN   data files: LogRecords, appended by one writer thread
//   ckpt-NNNNNNNNNN  an index checkpoint covering every data file < N
//
// Write path: Write()/Trim() queue the request; the writer thread takes
// everything queued (up to append_bytes_max), encodes one record per
// request, appends them in ONE dfs append (group commit) and, once the dfs
// acknowledged it (fdatasync on 2 of 3 replicas for `sync` volumes), points
// the index at the new records and completes the requests. The open data
// file's bytes are also kept in memory so that reads of recent writes do not
// wait for the dfs; a data file is closed (sealed) at data_file_bytes_max
// and read from the dfs after that.
//
// Checkpoints: when a data file is closed and at least
// max(checkpoint_bytes_min, 4 x the last checkpoint) was logged since the
// last checkpoint, the whole index is written to a new checkpoint file
// (atomically: temporary name, then rename), so that recovery reads the
// checkpoint and replays only the data files after it. Files before the
// checkpoint with no live block left are deleted then.
//
// Recovery (Open): every data file not covered by the newest valid
// checkpoint is fenced (the dfs seals it and the old owner's appends fail:
// a blockserver that was frozen while the segment moved cannot write
// anything a reader sees), replayed up to its first torn or corrupt
// record, and a new data file is started.
//
// Garbage collection (CollectGarbage, from a background thread): the closed
// data file with the lowest live fraction below gc_live_fraction_max has its
// live blocks read and queued as ordinary writes, which the writer thread
// keeps only for blocks that still point at the old place (so a newer
// client write always wins, in memory and in the log order); a checkpoint
// follows and the file is deleted.
//
// A failed dfs append (fenced, or the dfs cannot place data) fails the
// segment: every request gets the error until it is opened again.
//
// Thread-safety: thread-safe. Ownership: borrows the store and the clock,
// which must outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "block/server/log_file_store.h"
#include "block/server/paged_buffer.h"
#include "block/server/read_cache.h"
#include "block/server/segment_index.h"
#include "common/result.h"

namespace strata::block {

struct SegmentOptions {
  uint64_t size_bytes = 0;
  uint32_t block_size = 4096;
  dfs::Durability durability = dfs::DURABILITY_SYNC;
  uint64_t data_file_bytes_max = 16ull << 20;
  uint64_t checkpoint_bytes_min = 64ull << 20;
  uint64_t append_bytes_max = 1ull << 20;   // one group-committed append
  uint64_t queue_bytes_max = 64ull << 20;   // writes waiting for the writer thread
  bool compress = true;
  // Garbage collection is lazy while clients write (every overwrite that
  // lands on a file before it is collected is a block GC need not copy) and
  // thorough once they stop: a segment that took no client write since the
  // last pass collects any closed file with less live data than
  // gc_live_fraction_max; one that is being written collects only files
  // below gc_busy_live_fraction_max, or, once its closed files hold more
  // than gc_busy_space_amp_max x their live data, the emptiest below
  // gc_live_fraction_max.
  double gc_live_fraction_max = 0.5;
  double gc_busy_live_fraction_max = 0.2;
  double gc_busy_space_amp_max = 2.0;
  uint64_t gc_read_bytes_max = 4ull << 20;  // one read of a file being collected
};

struct SegmentStats {
  uint64_t live_bytes = 0;       // blocks that read as written data
  uint64_t stored_bytes = 0;     // bytes of its data files
  uint64_t data_files = 0;
  uint64_t extents = 0;
  uint64_t appends = 0;          // dfs appends (one per group commit)
  uint64_t appended_bytes = 0;   // bytes of those appends (records with their headers)
  uint64_t requests_written = 0; // writes and trims applied (GC copies included)
  uint64_t client_writes = 0;    // client writes and trims applied
  uint64_t records_compress_tried = 0;  // write records tried for compression
  uint64_t checkpoints = 0;
  uint64_t checkpoint_bytes = 0;  // bytes of the checkpoints written
  uint64_t gc_files_collected = 0;
  uint64_t gc_bytes_rewritten = 0;
  uint64_t replayed_records = 0; // at the last Open
  uint64_t queued_requests = 0;  // waiting for the writer thread now
};

struct BlockRun {
  uint64_t length = 0;  // bytes
  bool allocated = false;
};

class Segment {
 public:
  // Recovers the segment from `dir` (creating it when empty) and starts
  // its writer thread.
  // `cache` (optional, must outlive the segment): reads of closed data
  // files go through it.
  static Result<std::unique_ptr<Segment>> Open(LogFileStore* store, std::string dir, SegmentOptions options,
                                               ReadCache* cache = nullptr);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  // Offsets and lengths in bytes, multiples of the block size, inside the
  // segment (InvalidArgument otherwise). Write/Trim return once durable.
  Status Write(uint64_t offset, std::string_view data);
  Status Trim(uint64_t offset, uint64_t length);
  // Returns once every write and trim acknowledged before the call is
  // durable also in `memory` durability (the open data file synced; files
  // rolled before were synced by their seal). Costs nothing in `sync`.
  Status Sync();

  // The same without waiting: `done` runs once with the result, on the
  // writer thread (or on the caller's when refused at once), and must not
  // block. These are not held back by queue_bytes_max: their caller bounds
  // what it submits (the RPC server's frame budget does for the
  // blockserver).
  using Done = std::function<void(Status)>;
  void WriteAsync(uint64_t offset, std::string data, Done done);
  void TrimAsync(uint64_t offset, uint64_t length, Done done);
  void SyncAsync(Done done);
  Result<std::string> Read(uint64_t offset, uint64_t length);
  // The same when it needs no dfs read (the blocks are in the open data
  // file's buffer, in the read cache, or never written); nullopt when it
  // would have to wait for the dfs.
  std::optional<Result<std::string>> ReadWithoutWaiting(uint64_t offset, uint64_t length);
  Result<std::vector<BlockRun>> BlockStatus(uint64_t offset, uint64_t length);

  // One step of garbage collection; true when a file was collected.
  // `busy`: clients are writing (see SegmentOptions for what it changes).
  Result<bool> CollectGarbage(bool busy = false);

  // Stops the writer thread (queued requests fail) and closes the open
  // data file.
  void Close();

  SegmentStats stats() const;
  // The error that failed the segment, OK while it serves.
  Status failure() const;
  const std::string& dir() const { return dir_; }

 private:
  enum class OpKind { kWrite, kTrim, kGcWrite, kCheckpoint, kSync };
  struct Op {
    OpKind kind = OpKind::kWrite;
    uint64_t block = 0;
    uint64_t count = 0;
    std::string data;            // kWrite, kGcWrite
    IndexExtent expected;        // kGcWrite: where the blocks were
    Done done;  // called once, never under mu_
  };
  struct DataFile {
    uint64_t size = 0;
    std::shared_ptr<LogReader> reader;  // closed files only
    std::shared_ptr<LogReader> cached;  // the same through the read cache (or `reader` without one)
  };
  // One record the writer encoded into the batch, applied after the append.
  struct Encoded {
    bool trim = false;
    uint64_t block = 0;
    IndexExtent extent;  // writes: offset relative to the batch start
  };

  Segment(LogFileStore* store, std::string dir, SegmentOptions options, ReadCache* cache);
  // `pages`: the file's bytes when at hand (see ReadCache::Wrap).
  DataFile OpenedFile(std::shared_ptr<LogReader> reader,
                      const std::vector<std::shared_ptr<const std::string>>& pages = {}) const;
  Status Recover();
  Status Replay(uint32_t seq, const std::string& name, uint64_t size);
  Status StartNewFile();
  std::string PathOf(const std::string& prefix, uint32_t seq) const;

  Status CheckRange(uint64_t offset, uint64_t length) const;
  // Queues `op`, waiting while the queue is over queue_bytes_max, and
  // returns its result.
  Status Submit(std::unique_ptr<Op> op);
  // Queues `op` at once; its done gets the result.
  void SubmitAsync(std::unique_ptr<Op> op);
  // Queues every op at once and returns the first error once all are done.
  Status SubmitAllAndWait(std::vector<std::unique_ptr<Op>> ops);
  void WriterLoop();
  // Encodes `op` into batch_ (appending to encoded_); GC writes keep only
  // the blocks still at their old place.
  void Encode(Op& op);
  // The parts of [block, block + count) that no record already encoded in
  // this batch covers.
  std::vector<std::pair<uint64_t, uint64_t>> NotEncodedInBatch(uint64_t block, uint64_t count) const;
  void EncodeWrite(uint64_t block, std::string_view blocks);
  Status Roll();
  Status WriteCheckpoint();
  void FailLocked(const Status& st);

  // Copies blocks of `piece` from the open file's buffer (under mu_).
  Result<std::string> ReadFromBuffer(const IndexExtent& e) const;
  std::optional<Result<std::string>> ReadImpl(uint64_t offset, uint64_t length, bool memory_only);
  static Result<std::string> ReadFromFile(LogReader* reader, const IndexExtent& e, uint32_t block_size);
  // Unavailable when the bytes are not in memory.
  static Result<std::string> ReadFromCache(LogReader* reader, const IndexExtent& e, uint32_t block_size);
  static Result<std::string> ReadExtent(const IndexExtent& e, uint32_t block_size,
                                        const std::function<Status(uint64_t, char*, size_t)>& read);

  LogFileStore* store_;
  ReadCache* const cache_;
  const std::string dir_;
  const SegmentOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;          // queue not empty / not full / stopping
  std::deque<std::unique_ptr<Op>> queue_;
  uint64_t queued_bytes_ = 0;
  bool stopping_ = false;
  Status failed_;
  SegmentIndex index_;
  std::map<uint32_t, DataFile> files_;  // every data file, the open one included
  uint32_t current_ = 0;                // the open data file's sequence number
  PagedBuffer buffer_;                  // the open data file's bytes
  SegmentStats stats_;

  // Writer thread only.
  std::unique_ptr<LogAppender> appender_;
  std::string batch_;
  std::vector<Encoded> encoded_;
  uint64_t next_lsn_ = 1;
  uint32_t incompressible_streak_ = 0;  // records tried in a row that did not compress (at most 6)
  uint32_t compress_skip_ = 0;          // records to write without trying compression
  uint64_t compress_tried_in_batch_ = 0;
  uint64_t logged_since_checkpoint_ = 0;
  uint64_t last_checkpoint_bytes_ = 0;
  bool checkpoint_wanted_ = false;
  bool sync_wanted_ = false;  // a kSync op is in the batch being written
  std::thread writer_;
};

}  // namespace strata::block
