// SoftFaultDetector: finds disks that work but are far slower than the rest
// of the cluster (DESIGN.md §2, seed 003: "fail-slow" hardware).
//
// Each heartbeat carries, per disk, the p99 latency of recent writes and the
// number of operations. A disk is an outlier in one heartbeat when it did
// operations, at least `soft_fault_disks_min` disks of the cluster did
// too, and its p99 is both above an absolute floor
// (`soft_fault_latency_floor_us`) and above median + k * MAD of the cluster's
// p99s (outlier.h; with k = 6 a disk must be over 4x the median). After
// `soft_fault_heartbeats_min` outlier heartbeats in a row the disk becomes
// READ_ONLY: no new chunks, and its replicas stop counting as live, so
// recovery gives each of its chunks an extra copy elsewhere. When every
// chunk on it has its full replica count without it, it goes OFFLINE: the
// master drops its replicas (and deletes them). As many non-outlier
// heartbeats in a row bring it back to NORMAL (soft_fault_state.h). The
// bound on disks out of service, shared with slow_server.h, turns a further
// slow disk into an alert only.
//
// The disks of a chunkserver that is slow as a whole (slow_server.h) are
// not judged one by one: the server's verdict covers them.
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
#include "dfs/master/soft_fault_state.h"

namespace strata::dfs::master {

class SoftFaultDetector {
 public:
  using DiskKey = std::pair<std::string, uint32_t>;  // (server id, disk index)

  explicit SoftFaultDetector(const MasterOptions& options) : options_(options) {}

  // Judges the disks of `server` from its latest heartbeat against the
  // cluster; `server_slow` skips them (their server is judged slow as a
  // whole). Returns the disks whose health changed.
  std::vector<DiskKey> Observe(const std::string& server, const Membership& membership, bool server_slow,
                               SoftFaultBudget* budget);
  void SetOffline(const DiskKey& disk);
  // Drops what is known of `server`'s disks (it died: out of service anyway).
  void Forget(const std::string& server);

  Health HealthOf(const std::string& server, uint32_t disk) const;
  // Out of service, or an outlier in its latest heartbeat.
  bool SlowNow(const std::string& server, uint32_t disk) const;
  std::string Reason(const std::string& server, uint32_t disk) const;
  // Disks currently READ_ONLY (candidates for OFFLINE).
  std::vector<DiskKey> ReadOnlyDisks() const;
  // Disks READ_ONLY or OFFLINE.
  size_t OutOfService() const;
  // Active alerts: disks slow long enough to go but held back by the bound.
  std::vector<std::string> Alerts() const;
  // The latest alert raised, kept after it clears.
  const std::string& last_alert() const { return last_alert_; }
  uint64_t alerts_raised() const { return alerts_raised_; }

 private:
  MasterOptions options_;
  std::map<DiskKey, HealthState> states_;
  std::string last_alert_;
  uint64_t alerts_raised_ = 0;
};

}  // namespace strata::dfs::master
