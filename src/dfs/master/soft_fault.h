// SoftFaultDetector: finds disks that work but are far slower than the rest
// of the cluster (DESIGN.md §2, seed 003: "fail-slow" hardware).
//
// Each heartbeat carries, per disk, the p99 latency of recent writes and the
// number of operations. A disk is an outlier in one heartbeat when it did
// operations, at least `soft_fault_disks_min` disks of the cluster did
// too, and its p99 is both above an absolute floor
// (`soft_fault_latency_floor_us`) and above median + k * MAD of the cluster's
// p99s (median absolute deviation; a robust z-score, so one slow disk cannot
// drag the baseline with it; MAD is floored at half the median so that a
// uniform cluster, whose p99s come in power-of-two histogram buckets, does
// not flag noise: with k = 6 a disk must be over 4x the median). After `soft_fault_heartbeats_min`
// outlier heartbeats in a row the disk becomes READ_ONLY: no new chunks, and
// its replicas stop counting as live, so recovery gives each of its chunks
// an extra copy elsewhere. When every chunk on it has its full replica count
// without it, it goes OFFLINE: the master drops its replicas (and deletes
// them). As many non-outlier heartbeats in a row bring it back to NORMAL.
// At most max(1, `soft_fault_disks_fraction_max` x disks) disks may be
// READ_ONLY or OFFLINE at once; beyond that the detector only alerts.
//
// Thread-safety: not thread-safe; the master service serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "dfs/master/master_options.h"
#include "dfs/master/membership.h"

namespace strata::dfs::master {

enum class DiskHealth { kNormal, kReadOnly, kOffline };
const char* DiskHealthName(DiskHealth h);

class SoftFaultDetector {
 public:
  using DiskKey = std::pair<std::string, uint32_t>;  // (server id, disk index)

  explicit SoftFaultDetector(const MasterOptions& options) : options_(options) {}

  // Judges the disks of `server` from its latest heartbeat against the
  // cluster. Returns the disks that just became READ_ONLY.
  std::vector<DiskKey> Observe(const std::string& server, const Membership& membership);
  void SetOffline(const DiskKey& disk);
  DiskHealth Health(const std::string& server, uint32_t disk) const;
  // Disks currently READ_ONLY (candidates for OFFLINE).
  std::vector<DiskKey> ReadOnlyDisks() const;
  const std::string& alert() const { return alert_; }
  std::string Reason(const std::string& server, uint32_t disk) const;

 private:
  struct State {
    DiskHealth health = DiskHealth::kNormal;
    uint32_t slow_streak = 0;
    uint32_t ok_streak = 0;
    std::string reason;
  };
  bool Baseline(const Membership& membership, uint64_t* median, uint64_t* mad, size_t* disks) const;
  size_t DegradedCount() const;

  MasterOptions options_;
  std::map<DiskKey, State> states_;
  std::string alert_;
};

}  // namespace strata::dfs::master
