// Disk: one disk directory of a chunkserver, its health and its statistics.
//
// A disk is healthy until an operation on it fails with an I/O error, ENOSPC
// or a permission error, or its directory disappears; then it is marked failed
// with the reason, gets no new chunks, refuses writes, and is reported as
// failed in heartbeats. A disk that is merely full still serves its
// replicas; after any other failure its replicas are no longer trusted
// (readable() is false) and are left out of replica reports, so the master
// copies them elsewhere (they stay readable as a last resort: every read
// checks CRCs). A failed disk returns to service (ReturnToService) when the
// store has probed and verified it again (ChunkStore::ReturnDisk), unless it
// was refused (Refuse: another cluster's disk), which only a restart clears.
// Write latency (write + fdatasync) is recorded both in a Prometheus histogram
// and in a window that the heartbeat drains to report recent p50/p99.
//
// Thread-safety: all methods are thread-safe.
// Ownership: the ChunkStore owns its Disks; the registry must outlive them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "common/metrics.h"
#include "common/status.h"

namespace strata::dfs {

// Latencies since the last Drain(), as exponential buckets of microseconds.
class LatencyWindow {
 public:
  struct Snapshot {
    uint64_t p50_us = 0;
    uint64_t p99_us = 0;
    uint64_t ops = 0;
  };
  void Observe(uint64_t micros);
  // Quantiles of the window, which then starts empty.
  Snapshot Drain();
  // Quantiles of the window, left as it is.
  Snapshot Peek();

 private:
  static constexpr int kBuckets = 32;
  Snapshot SnapshotLocked() const;
  std::mutex mu_;
  std::array<uint64_t, kBuckets> buckets_{};  // GUARDED_BY(mu_); bucket i holds < 2^i us
  uint64_t count_ = 0;                        // GUARDED_BY(mu_)
};

struct DiskReport {
  uint32_t index = 0;
  std::string path;
  std::string disk_id;     // see disk_identity.h; empty if the disk was not claimed
  std::string cluster_id;  // empty until the disk joins its master's cluster
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t device_id = 0;  // see DiskSpace
  uint64_t used_bytes = 0;
  bool failed = false;
  std::string failure;
  uint64_t write_p50_us = 0;
  uint64_t write_p99_us = 0;
  uint64_t ops = 0;
  uint32_t chunks = 0;
};

class Disk {
 public:
  Disk(uint32_t index, std::string path, MetricsRegistry* metrics);

  uint32_t index() const { return index_; }
  const std::string& path() const { return path_; }
  // Where replicas live: <path>/chunks.
  const std::string& chunks_dir() const { return chunks_dir_; }

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string failure() const;
  bool readable() const { return readable_.load(std::memory_order_acquire); }
  // Marks the disk failed when `st` is an error that says the disk is bad
  // (IoError, NoSpace, PermissionDenied); the first reason is kept.
  void NoteStatus(const Status& st);
  // `replicas_lost`: its replicas can no longer be trusted either.
  void MarkFailed(const std::string& reason, bool replicas_lost);
  // Failed for good, for this process: it is not probed or returned.
  void Refuse(const std::string& reason);
  bool refused() const { return refused_.load(std::memory_order_acquire); }
  // The code of the error that failed it (kOk while healthy, or when failed
  // by MarkFailed without a status).
  StatusCode failure_code() const;
  // Healthy again; the caller has checked it (ChunkStore::ReturnDisk).
  void ReturnToService();
  // Errors that failed it or found it failed (counts every one).
  uint64_t errors() const { return errors_.load(std::memory_order_acquire); }
  // Counts failures and returns to service: changes at each change of state.
  uint64_t transitions() const { return transitions_.load(std::memory_order_acquire); }
  // OK, or the failure as an IoError naming the disk.
  Status CheckHealthy() const;

  // Free bytes as last measured (statvfs by the store); UINT64_MAX until then.
  uint64_t free_bytes_seen() const { return free_bytes_seen_.load(std::memory_order_relaxed); }
  void set_free_bytes_seen(uint64_t bytes) { free_bytes_seen_.store(bytes, std::memory_order_relaxed); }

  void ObserveWrite(uint64_t micros);
  LatencyWindow::Snapshot DrainWindow() { return window_.Drain(); }
  LatencyWindow::Snapshot PeekWindow() { return window_.Peek(); }

 private:
  const uint32_t index_;
  const std::string path_;
  const std::string chunks_dir_;
  std::atomic<bool> failed_{false};
  std::atomic<bool> readable_{true};
  std::atomic<bool> refused_{false};
  std::atomic<uint64_t> transitions_{0};
  std::atomic<uint64_t> errors_{0};
  std::atomic<uint64_t> free_bytes_seen_{UINT64_MAX};
  mutable std::mutex mu_;
  std::string failure_;  // GUARDED_BY(mu_)
  StatusCode failure_code_ = StatusCode::kOk;  // GUARDED_BY(mu_)
  LatencyWindow window_;
  void Fail(const std::string& reason, bool replicas_lost, StatusCode code);

  Histogram* write_latency_;
  Counter* failures_;
  Counter* returns_;
};

}  // namespace strata::dfs
