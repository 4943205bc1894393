// MemoryFlusher: makes `memory` durability appends durable in the background
// (the memory redo log of DESIGN.md §2 / seed 003) and enforces its bounds.
//
// A memory-mode append is acknowledged once it is in the page cache; the
// replica is then queued here. One thread per disk syncs the queued replicas
// of its disk in rounds: a round starts `flush_batch_ms` after the queue
// stops being empty, so that one fdatasync covers a burst of appends (a
// group commit), and rounds follow each other while appends keep coming. A
// slow or hung disk holds up only its own thread.
//
// Bounds, per disk:
//   - Admit() refuses a memory-mode append (Unavailable, with the reason)
//     when the disk has failed, holds more than `dirty_bytes_max` unsynced
//     bytes (its queue is long), or is slow: its last flush, or the one in
//     progress, took longer than `slow_flush_ms`. The writer then seals the
//     chunk and goes on with other servers.
//   - A watchdog checks that no acknowledged byte stays unsynced longer than
//     `flush_delay_ms_max`. When one does (or a flush fails), the disk is
//     marked failed ("flush deadline missed"), so it takes no more appends,
//     and every replica with unsynced data on it is reported through the
//     listener at once, so that the master re-replicates them from the other
//     copies.
// Each replica's flush (one fdatasync) is recorded as a write of the disk
// (what the heartbeat reports and the fail-slow detector judges). A hung
// disk blocks its flush thread and Stop() (as it would block any process
// on it); `strata down` then ends the chunkserver with SIGKILL.
//
// Thread-safety: thread-safe. Ownership: the ChunkStore owns it; it borrows
// the Disks and Clock (which outlive it) and shares the queued Replicas.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "dfs/chunkserver/store/disk.h"
#include "dfs/chunkserver/store/replica.h"
#include "env/clock.h"

namespace strata::dfs {

struct MemoryFlusherOptions {
  uint64_t flush_delay_ms_max = 30000;      // acknowledged bytes are synced within this
  uint64_t dirty_bytes_max = 256ull << 20;  // per disk; more unsynced bytes: refuse
  uint64_t slow_flush_ms = 2000;            // a flush slower than this: the disk is slow, refuse
  uint64_t flush_batch_ms = 50;             // a round waits this long for more appends to cover
};

class MemoryFlusher {
 public:
  // Called with a chunk id and the reason when a replica's acknowledged
  // memory-mode data missed its flush deadline or failed to flush.
  using BadReplicaListener = std::function<void(uint64_t chunk_id, const std::string& reason)>;

  MemoryFlusher(MemoryFlusherOptions options, std::vector<Disk*> disks, Clock* clock, MetricsRegistry* metrics);
  ~MemoryFlusher();

  void SetListener(BadReplicaListener listener);
  void Start();
  // Flushes what is queued and stops the threads (waits for a hung disk).
  void Stop();

  // OK when `disk` may take a memory-mode append of `bytes`.
  Status Admit(const Disk* disk, uint64_t bytes) const;
  // Queues `replica` after a memory-mode append of `bytes` to it.
  void Enqueue(const std::shared_ptr<Replica>& replica, uint64_t bytes);

  // Syncs `replica` now (a client asked: SYNC_CHUNK), timed and counted as
  // the flusher's own rounds are; it leaves the queue once clean.
  Result<uint64_t> FlushNow(const std::shared_ptr<Replica>& replica);

  // Unsynced bytes queued on disk `index`.
  uint64_t DirtyBytes(uint32_t index) const;
  // Runs one watchdog check now (tests); the watchdog thread calls it too.
  void CheckDeadlines();

 private:
  struct DiskQueue {
    Disk* disk = nullptr;
    mutable std::mutex mu;
    std::condition_variable cv;
    std::map<const Replica*, std::shared_ptr<Replica>> dirty;  // GUARDED_BY(mu)
    std::map<const Replica*, bool> reported;                    // GUARDED_BY(mu), already reported bad
    std::atomic<uint64_t> dirty_bytes{0};
    std::atomic<uint64_t> flush_started_us{0};  // 0: no flush in progress
    std::atomic<uint64_t> last_flush_us{0};     // duration of the last flush
    std::atomic<uint64_t> last_flush_end_us{0}; // when it ended
    std::thread thread;
  };
  void FlushLoop(DiskQueue* q);
  void WatchdogLoop();
  void Fail(DiskQueue* q, const std::string& reason);

  const MemoryFlusherOptions options_;
  Clock* const clock_;
  std::mutex listener_mu_;
  BadReplicaListener listener_;  // GUARDED_BY(listener_mu_)
  std::vector<std::unique_ptr<DiskQueue>> queues_;  // by disk index
  std::atomic<bool> stopping_{false};
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  std::thread watchdog_;
  bool started_ = false;
  Counter* flushes_;
  Counter* flushed_bytes_;
  Counter* refused_;
  Counter* deadline_misses_;
};

}  // namespace strata::dfs
