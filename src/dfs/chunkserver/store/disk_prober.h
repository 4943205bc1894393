// DiskProber: gives every healthy disk a latency sample at a steady pace, so
// that the master's fail-slow detector can judge a disk whatever the load
// (an idle disk, or one taken out of service and getting no writes, would
// otherwise report nothing and could neither be caught nor cleared).
//
// Every `interval_ms` it writes one 4 KiB block to <disk>/probe and
// fdatasyncs it, through the same FileSystem as the replicas (so injected
// faults apply), and records the time as a write of that disk. A probe that
// fails marks the disk failed like any other I/O error. One thread per disk:
// a hung disk holds up only its own probes. Failed disks are not probed.
// CheckHung() (run with each heartbeat) turns a probe that is still running
// into evidence: past one interval its age is recorded as a write latency
// (so the master sees the disk slow at once), past `hang_ms` the disk is
// failed as hung and its replicas are no longer trusted (the master copies
// them elsewhere).
//
// Thread-safety: Start/Stop from one thread. Ownership: the ChunkStore owns
// it; it borrows the FileSystem, Clock and Disks, which outlive it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "dfs/chunkserver/store/disk.h"
#include "env/clock.h"
#include "env/file_system.h"

namespace strata::dfs {

class DiskProber {
 public:
  // `interval_ms` 0: no probes.
  DiskProber(uint64_t interval_ms, uint64_t hang_ms, std::vector<Disk*> disks, FileSystem* fs, Clock* clock,
             MetricsRegistry* metrics);
  ~DiskProber();

  // Called with a failed disk and the result of its probe, on the disk's
  // probe thread. REQUIRES: set before Start.
  using FailedDiskListener = std::function<void(Disk* disk, const Status& probe)>;
  void SetFailedDiskListener(FailedDiskListener listener) { failed_listener_ = std::move(listener); }

  void Start();
  void Stop();
  // Probes `disk` once now (tests and ChunkStore::ReturnDisk, which passes
  // `tell_listener` false; the threads call it too).
  Status ProbeOnce(Disk* disk, bool tell_listener = true);
  // See above.
  void CheckHung();

 private:
  void Loop(Disk* disk);

  const uint64_t interval_ms_;
  const uint64_t hang_ms_;
  const std::vector<Disk*> disks_;
  // Per disk (by position in disks_): clock time the running probe started, 0: none.
  std::vector<std::unique_ptr<std::atomic<uint64_t>>> started_us_;
  FileSystem* const fs_;
  Clock* const clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
  FailedDiskListener failed_listener_;
  Counter* probes_;
};

}  // namespace strata::dfs
