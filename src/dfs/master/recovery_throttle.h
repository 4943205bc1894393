// RecoveryThrottle: adapts recovery's flow-control limits to foreground
// latency (DESIGN.md §2: "foreground traffic first"; issue 4: when client
// latency rises recovery slows down, and chunks with one replica left are
// never starved — that lane is in recovery.h).
//
// Signal: the cluster's foreground write latency, the median of the write
// p99 that alive chunkservers report per disk (disks in service that did
// operations since their previous heartbeat). Copies write on their target
// disks too, so the signal sees recovery's own impact on clients.
//
// Target: `recovery_foreground_p99_target_us` when set; otherwise
// `recovery_foreground_p99_tolerance` x a baseline learned while recovery is
// idle (no copy in flight for two heartbeat intervals): an exponentially
// weighted mean of the signal, at most one sample per heartbeat interval,
// weight 1/8. With neither (nothing learned yet) recovery runs at full speed.
//
// Level, from 1 (full speed) down to 0 (the floor), with r = signal/target:
//   r <= 1: 1;   1 < r < 2: 2 - r (linear);   r >= 2: 0.
// The level drops at once and rises by at most a quarter per second, so a
// latency dip does not swing recovery straight back to full speed.
// Limits at that level:
//   bytes/s            = floor + level x (recovery_bytes_per_sec_max - floor),
//                        floor = min(recovery_bytes_per_sec_min, max);
//   copies per server  = max(1, ceil(level x recovery_copies_per_server_max)).
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the clock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "dfs/master/master_options.h"
#include "dfs/master/membership.h"
#include "env/clock.h"

namespace strata::dfs::master {

class RecoveryThrottle {
 public:
  RecoveryThrottle(const Clock* clock, const MasterOptions& options);

  // Feeds the latest signal (0: no disk did operations) and whether any
  // recovery copy is running; recomputes the limits.
  void Update(uint64_t foreground_p99_us, bool recovery_active);

  uint64_t bytes_per_sec() const;
  uint32_t copies_per_server() const;
  uint64_t floor_bytes_per_sec() const;
  double level() const { return level_; }
  uint64_t foreground_p99_us() const { return signal_us_; }
  uint64_t baseline_us() const { return static_cast<uint64_t>(baseline_us_); }
  // 0 while there is no target (full speed).
  uint64_t target_us() const;

  // The signal: the median write p99 over the disks of alive servers that
  // did operations and that `in_service(server, disk)` accepts; 0 if none.
  static uint64_t ForegroundP99Us(const Membership& membership,
                                  const std::function<bool(const std::string&, uint32_t)>& in_service);

 private:
  void Learn(uint64_t now_us, bool recovery_active);

  const Clock* clock_;
  MasterOptions options_;
  uint64_t signal_us_ = 0;
  double baseline_us_ = 0;  // 0: nothing learned yet
  double level_ = 1.0;
  uint64_t updated_us_ = 0;
  std::optional<uint64_t> active_us_;   // when recovery was last seen running
  std::optional<uint64_t> learned_us_;  // when the baseline last took a sample
};

}  // namespace strata::dfs::master
