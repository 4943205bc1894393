#include "dfs/master/soft_fault.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dfs/master/outlier.h"

namespace strata::dfs::master {
namespace {

std::optional<RobustBaseline> DiskBaseline(const Membership& membership, size_t disks_min) {
  std::vector<uint64_t> p99s;
  for (const auto& [id, s] : membership.servers()) {
    if (s.liveness != Liveness::kAlive) continue;
    for (const auto& d : s.disks) {
      if (!d.failed() && d.ops() > 0) p99s.push_back(d.write_p99_us());
    }
  }
  return MakeBaseline(std::move(p99s), disks_min);
}

}  // namespace

std::vector<SoftFaultDetector::DiskKey> SoftFaultDetector::Observe(const std::string& server,
                                                                   const Membership& membership, bool server_slow,
                                                                   SoftFaultBudget* budget) {
  std::vector<DiskKey> changed;
  const ServerState* s = membership.Find(server);
  if (!options_.soft_fault_enabled || !s) return changed;
  if (server_slow) {
    for (const auto& d : s->disks) {
      if (auto it = states_.find({server, d.index()}); it != states_.end()) it->second.ResetStreaks();
    }
    return changed;
  }
  auto baseline = DiskBaseline(membership, options_.soft_fault_disks_min);
  if (!baseline) return changed;
  for (const auto& d : s->disks) {
    if (d.ops() == 0) continue;  // no sample this time
    DiskKey key{server, d.index()};
    HealthState& st = states_[key];
    uint64_t p99 = d.write_p99_us();
    bool slow = IsOutlier(p99, *baseline, options_.soft_fault_latency_floor_us, options_.soft_fault_mad_k);
    auto why = [&] {
      return fmt::format("write p99 {} us vs cluster median {} us (MAD {} us, {} disks)", p99, baseline->median_us,
                         baseline->mad_us, baseline->samples);
    };
    switch (st.Judge(slow, options_.soft_fault_heartbeats_min, 1, budget)) {
      case HealthChange::kNone: break;
      case HealthChange::kRestored:
        spdlog::info("master: disk {} of {} is no longer slow; back in service", d.index(), server);
        changed.push_back(key);
        break;
      case HealthChange::kDegraded:
        spdlog::warn("master: disk {} of {} is slow ({}): read-only, its chunks get an extra replica", d.index(),
                     server, why());
        st.reason = why();
        changed.push_back(key);
        break;
      case HealthChange::kHeld:
        st.alert = fmt::format("disk {} of {} is slow ({}), but {} disk(s) are already out of service (limit {})",
                               d.index(), server, why(), budget->disks_out, budget->cap);
        last_alert_ = st.alert;
        alerts_raised_++;
        spdlog::error("master: ALERT: {}", st.alert);
        break;
    }
  }
  return changed;
}

void SoftFaultDetector::SetOffline(const DiskKey& disk) {
  auto it = states_.find(disk);
  if (it != states_.end() && it->second.health == Health::kReadOnly) it->second.health = Health::kOffline;
}

void SoftFaultDetector::Forget(const std::string& server) {
  for (auto it = states_.lower_bound({server, 0}); it != states_.end() && it->first.first == server;) {
    it = states_.erase(it);
  }
}

Health SoftFaultDetector::HealthOf(const std::string& server, uint32_t disk) const {
  auto it = states_.find({server, disk});
  return it == states_.end() ? Health::kNormal : it->second.health;
}

bool SoftFaultDetector::SlowNow(const std::string& server, uint32_t disk) const {
  auto it = states_.find({server, disk});
  return it != states_.end() && it->second.SlowNow();
}

std::string SoftFaultDetector::Reason(const std::string& server, uint32_t disk) const {
  auto it = states_.find({server, disk});
  return it == states_.end() ? std::string() : it->second.reason;
}

std::vector<SoftFaultDetector::DiskKey> SoftFaultDetector::ReadOnlyDisks() const {
  std::vector<DiskKey> out;
  for (const auto& [k, s] : states_) {
    if (s.health == Health::kReadOnly) out.push_back(k);
  }
  return out;
}

size_t SoftFaultDetector::OutOfService() const {
  size_t n = 0;
  for (const auto& [k, s] : states_) n += s.health != Health::kNormal;
  return n;
}

std::vector<std::string> SoftFaultDetector::Alerts() const {
  std::vector<std::string> out;
  for (const auto& [k, s] : states_) {
    if (s.held) out.push_back(s.alert);
  }
  return out;
}

}  // namespace strata::dfs::master
