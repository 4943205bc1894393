// SlowServerDetector: finds chunkservers that work but are far slower, as a
// whole, than the other chunkservers (DESIGN.md §2, seed 003: a fail-slow
// server: a bad controller, a throttled CPU, a congested NIC).
//
// A server's latency in one heartbeat is the lower median of the write p99s
// of its disks that did operations (outlier.h): it is high only when a
// strict majority of its disks are slow, so one slow disk stays the disk
// detector's business (soft_fault.h). The server is an outlier in that
// heartbeat when at least `soft_fault_servers_min` alive servers have a
// latency, and its latency is above `soft_fault_latency_floor_us` and above
// median + `soft_fault_mad_k` x MAD of the servers' latencies. A busy but
// uniformly slow cluster raises the median and the MAD with it and flags
// nothing. After `soft_fault_heartbeats_min` outlier heartbeats in a row
// (a time window of that many heartbeat intervals) the server becomes
// READ_ONLY: no new chunks on any of its disks, and its replicas stop
// counting as live, so each of its chunks gets an extra copy elsewhere;
// once every chunk on it has its full count without it, the master takes it
// OFFLINE (drops and deletes its replicas). As many non-outlier heartbeats
// in a row bring it back to NORMAL. A heartbeat without a sample (no disk
// did operations) gives no verdict either way. Going out of service counts
// all of its disks against the bound shared with the disk detector
// (soft_fault_state.h); refused, the detector only raises an alert.
//
// Thread-safety: not thread-safe; the master service serializes access.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dfs/master/master_options.h"
#include "dfs/master/membership.h"
#include "dfs/master/soft_fault.h"
#include "dfs/master/soft_fault_state.h"

namespace strata::dfs::master {

class SlowServerDetector {
 public:
  explicit SlowServerDetector(const MasterOptions& options) : options_(options) {}

  // Judges `server` from its latest heartbeat against the other alive
  // servers. `disks`: how many disks it takes out of service (or returns)
  // beyond those the disk detector already holds out, for the bound.
  HealthChange Observe(const std::string& server, const Membership& membership, size_t disks,
                       SoftFaultBudget* budget);
  void SetOffline(const std::string& server);
  // Drops what is known of `server` (it died: out of service anyway).
  void Forget(const std::string& server);

  Health HealthOf(const std::string& server) const;
  // Out of service, or an outlier in its latest heartbeat.
  bool SlowNow(const std::string& server) const;
  std::string Reason(const std::string& server) const;
  std::vector<std::string> ReadOnlyServers() const;
  // Servers READ_ONLY or OFFLINE.
  std::vector<std::string> OutOfService() const;
  // Active alerts: servers slow long enough to go but held back by the bound.
  std::vector<std::string> Alerts() const;
  const std::string& last_alert() const { return last_alert_; }
  uint64_t alerts_raised() const { return alerts_raised_; }

  // The server's latency from its latest heartbeat: the lower median of the
  // write p99 of its disks that did operations; 0 when none did.
  static uint64_t LatencyUs(const ServerState& s);

 private:
  MasterOptions options_;
  std::map<std::string, HealthState> states_;
  std::string last_alert_;
  uint64_t alerts_raised_ = 0;
};

// A replica on `disk` of `server`: the worse of its disk's and its server's health.
Health ReplicaHealth(const SoftFaultDetector& disks, const SlowServerDetector& servers, const std::string& server,
                     uint32_t disk);
// A replica readers and writers should try last: its disk or server is out
// of service or was an outlier in its latest heartbeat.
bool ReplicaSlowNow(const SoftFaultDetector& disks, const SlowServerDetector& servers, const std::string& server,
                    uint32_t disk);

}  // namespace strata::dfs::master
