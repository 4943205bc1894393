// SegmentTable: the segments this blockserver serves, keyed by (volume,
// index), each at the epoch the blockmanager assigned.
//
// Apply() takes the whole assignment from a heartbeat: segments new to this
// server (or at a new epoch) are opened on a small pool of threads (opening
// means recovery: fence, checkpoint, replay, which may take seconds, and
// must never hold up heartbeats or other segments), segments no longer
// assigned are closed. A segment whose dfs appends failed is closed and,
// if still assigned, opened again after reopen_backoff_ms.
//
// Find() gives requests the segment only when it is assigned at the epoch
// the request names, open, and this server's lease from the blockmanager
// still holds (LeaseValid): a server frozen past its lease serves nothing
// until a fresh heartbeat confirms what it owns.
//
// Thread-safety: thread-safe. Ownership: owns the segments; borrows the
// store, the clock and the read cache (optional), which must outlive it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "block.pb.h"
#include "block/server/log_file_store.h"
#include "block/server/segment.h"
#include "env/clock.h"

namespace strata::block {

struct SegmentKey {
  uint64_t volume = 0;
  uint32_t index = 0;
  auto operator<=>(const SegmentKey&) const = default;
};

// Where a segment keeps its files in the dfs.
std::string SegmentDir(uint64_t volume_id, uint32_t index);

class SegmentTable {
 public:
  SegmentTable(LogFileStore* store, SegmentOptions defaults, uint32_t open_threads, uint64_t reopen_backoff_ms,
               Clock* clock, ReadCache* cache = nullptr);
  ~SegmentTable();

  // Records that the blockmanager vouched for this server's assignment
  // until `until_us` (this clock).
  void ExtendLease(uint64_t until_us);
  bool LeaseValid() const;

  void Apply(const std::vector<SegmentAssignment>& assigned);
  // The open segment for `ref`, or StaleEpoch/NotFound/Unavailable.
  Result<std::shared_ptr<Segment>> Find(const SegmentRef& ref);
  std::vector<SegmentReport> Reports();
  // Serving segments, for the garbage collector.
  std::vector<std::shared_ptr<Segment>> Serving();
  void Stop();

 private:
  struct Slot {
    SegmentAssignment assignment;
    std::shared_ptr<Segment> segment;
    std::string state = "loading";  // loading, serving, failed
    std::string error;
    uint64_t failed_at_us = 0;
    bool queued = false;
  };
  void OpenLoop();
  void Queue(const SegmentKey& key, Slot& slot);

  LogFileStore* store_;
  ReadCache* cache_;
  SegmentOptions defaults_;
  uint64_t reopen_backoff_ms_;
  Clock* clock_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<SegmentKey, Slot> slots_;
  std::deque<SegmentKey> to_open_;
  uint64_t lease_until_us_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> openers_;
};

}  // namespace strata::block
