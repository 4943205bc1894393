// What the fail-slow detectors (soft_fault.h for disks, slow_server.h for
// whole chunkservers) share: the health a disk or server is in, the
// hysteresis that moves it between healths, and the bound on how much of
// the cluster they may take out of service at once (DESIGN.md §2, seed 003).
//
// Hysteresis (HealthState::Judge): every heartbeat with a latency sample
// gives a verdict, slow or not. After `heartbeats_min` slow verdicts in a
// row a NORMAL subject becomes READ_ONLY (no new chunks; its replicas stop
// counting as live, so each of its chunks gets an extra copy), if the bound
// allows; the master later makes it OFFLINE once every chunk on it has its
// full count elsewhere. After `heartbeats_min` non-slow verdicts in a row a
// READ_ONLY or OFFLINE subject is NORMAL again. A subject that reached its
// streak but was refused by the bound is "held": an alert is active for it
// until a verdict is not slow or the bound lets it go.
//
// Bound (SoftFaultBudget): the disks out of service (READ_ONLY or OFFLINE,
// a slow chunkserver counting as all of its disks) stay within
// max(1, soft_fault_disks_fraction_max x disks of the cluster). While
// nothing at all is out of service, one subject may always go whatever its
// disk count: the "1" of the max is one disk or one chunkserver, so that a
// small cluster can still isolate one slow chunkserver.
//
// Thread-safety: value types; the master service serializes access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace strata::dfs::master {

// Ordered from best to worst.
enum class Health { kNormal, kReadOnly, kOffline };
const char* HealthName(Health h);
inline Health Worse(Health a, Health b) { return a < b ? b : a; }

struct SoftFaultBudget {
  size_t disks_out = 0;  // READ_ONLY or OFFLINE now, by either detector
  size_t cap = 1;        // max(1, soft_fault_disks_fraction_max x disks)
  // May a subject worth `disks` disks go out of service now?
  bool Allows(size_t disks) const { return disks_out == 0 || disks_out + disks <= cap; }
};

// What one verdict did to a subject.
enum class HealthChange { kNone, kDegraded, kRestored, kHeld };

struct HealthState {
  Health health = Health::kNormal;
  uint32_t slow_streak = 0;
  uint32_t ok_streak = 0;
  bool held = false;   // slow long enough, refused by the bound: alert active
  std::string reason;  // why it is out of service
  std::string alert;   // why it is held (meaningful while `held`)

  // Records one heartbeat's verdict on a subject worth `disks` disks of the
  // bound; updates `budget` when the subject leaves or returns to service.
  HealthChange Judge(bool slow, uint32_t heartbeats_min, size_t disks, SoftFaultBudget* budget);
  // Forgets the streaks (the verdicts are being given elsewhere).
  void ResetStreaks();
  // Out of service, or slow in its latest verdict.
  bool SlowNow() const { return health != Health::kNormal || slow_streak > 0; }
};

}  // namespace strata::dfs::master
