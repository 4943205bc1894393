// StormGuard: bounded automatic recovery (DESIGN.md §2, seed 003).
//
// When many chunkservers, or a whole rack, vanish within a short window, the
// likely cause is a network or power event that will heal, not that many
// disks failing at once; re-replicating everything they held would start a
// copy storm that competes with foreground traffic and is wasted when they
// return. So the master pauses starting recovery copies for a grace period
// and raises an alert (status + metric) instead.
//
// A storm is: within `recovery_storm_window_ms`, at least
// max(recovery_storm_servers_min, ceil(recovery_storm_fraction x known
// servers)) servers declared dead, or every server of a rack that has at
// least two declared dead (with at least two of them in the window). The
// pause lasts `recovery_storm_pause_ms` from the last death that matched, or
// ends as soon as every server that died in the storm is alive again.
//
// Thread-safety: not thread-safe; the master service serializes access.
// Ownership: borrows the clock.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "dfs/master/master_options.h"
#include "dfs/master/membership.h"
#include "env/clock.h"

namespace strata::dfs::master {

class StormGuard {
 public:
  StormGuard(const Clock* clock, const MasterOptions& options) : clock_(clock), options_(options) {}

  // Records servers just declared dead; true when this starts (or extends) a pause.
  bool OnDeaths(const std::vector<std::string>& dead, const Membership& membership);
  // Ends the pause when every server of the storm is back (call each tick).
  void OnTick(const Membership& membership);
  bool Paused() const;
  uint64_t PauseRemainingMs() const;
  const std::string& reason() const { return reason_; }
  uint64_t storms() const { return storms_; }

 private:
  struct Death {
    uint64_t at_us;
    std::string server;
    std::string rack;
  };
  void Expire();
  bool RackVanished(const Membership& membership, std::string* rack) const;

  static constexpr size_t kDeathsRememberedMax = 4096;
  const Clock* clock_;
  MasterOptions options_;
  std::deque<Death> deaths_;  // within the window, oldest first
  uint64_t paused_until_us_ = 0;
  std::vector<std::string> storm_servers_;  // died in the window that set the pause
  std::string reason_;
  uint64_t storms_ = 0;
};

}  // namespace strata::dfs::master
