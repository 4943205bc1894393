#include "dfs/master/soft_fault_state.h"

#include <algorithm>

namespace strata::dfs::master {

const char* HealthName(Health h) {
  switch (h) {
    case Health::kNormal: return "normal";
    case Health::kReadOnly: return "read_only";
    case Health::kOffline: return "offline";
  }
  return "?";
}

HealthChange HealthState::Judge(bool slow, uint32_t heartbeats_min, size_t disks, SoftFaultBudget* budget) {
  slow_streak = slow ? slow_streak + 1 : 0;
  ok_streak = slow ? 0 : ok_streak + 1;
  if (!slow) held = false;
  if (health != Health::kNormal) {
    if (ok_streak < heartbeats_min) return HealthChange::kNone;
    health = Health::kNormal;
    reason.clear();
    budget->disks_out -= std::min(budget->disks_out, disks);
    return HealthChange::kRestored;
  }
  if (slow_streak < heartbeats_min) return HealthChange::kNone;
  if (!budget->Allows(disks)) {
    bool first = !held;
    held = true;
    return first ? HealthChange::kHeld : HealthChange::kNone;
  }
  held = false;
  health = Health::kReadOnly;
  budget->disks_out += disks;
  return HealthChange::kDegraded;
}

void HealthState::ResetStreaks() {
  slow_streak = 0;
  ok_streak = 0;
  held = false;
}

}  // namespace strata::dfs::master
