#include "dfs/master/slow_server.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "dfs/master/outlier.h"

namespace strata::dfs::master {

uint64_t SlowServerDetector::LatencyUs(const ServerState& s) {
  std::vector<uint64_t> p99s;
  for (const auto& d : s.disks) {
    if (!d.failed() && d.ops() > 0) p99s.push_back(d.write_p99_us());
  }
  return LowerMedian(std::move(p99s));
}

HealthChange SlowServerDetector::Observe(const std::string& server, const Membership& membership, size_t disks,
                                         SoftFaultBudget* budget) {
  const ServerState* s = membership.Find(server);
  if (!options_.soft_fault_enabled || !s) return HealthChange::kNone;
  uint64_t latency = LatencyUs(*s);
  if (latency == 0) return HealthChange::kNone;  // no sample this time
  std::vector<uint64_t> latencies;
  for (const auto& [id, peer] : membership.servers()) {
    if (peer.liveness != Liveness::kAlive) continue;
    if (uint64_t l = LatencyUs(peer); l > 0) latencies.push_back(l);
  }
  auto baseline = MakeBaseline(std::move(latencies), options_.soft_fault_servers_min);
  if (!baseline) return HealthChange::kNone;
  bool slow = IsOutlier(latency, *baseline, options_.soft_fault_latency_floor_us, options_.soft_fault_mad_k);
  auto why = [&] {
    return fmt::format("write p99 {} us (lower median of its disks) vs servers' median {} us (MAD {} us, {} servers)",
                       latency, baseline->median_us, baseline->mad_us, baseline->samples);
  };
  HealthState& st = states_[server];
  HealthChange change = st.Judge(slow, options_.soft_fault_heartbeats_min, disks, budget);
  switch (change) {
    case HealthChange::kNone: break;
    case HealthChange::kRestored:
      spdlog::info("master: chunkserver {} is no longer slow; back in service", server);
      break;
    case HealthChange::kDegraded:
      spdlog::warn("master: chunkserver {} is slow ({}): read-only, its chunks get an extra replica", server, why());
      st.reason = why();
      break;
    case HealthChange::kHeld:
      st.alert = fmt::format("chunkserver {} is slow ({}), but {} disk(s) are already out of service (limit {})",
                             server, why(), budget->disks_out, budget->cap);
      last_alert_ = st.alert;
      alerts_raised_++;
      spdlog::error("master: ALERT: {}", st.alert);
      break;
  }
  return change;
}

void SlowServerDetector::SetOffline(const std::string& server) {
  auto it = states_.find(server);
  if (it != states_.end() && it->second.health == Health::kReadOnly) it->second.health = Health::kOffline;
}

void SlowServerDetector::Forget(const std::string& server) { states_.erase(server); }

Health SlowServerDetector::HealthOf(const std::string& server) const {
  auto it = states_.find(server);
  return it == states_.end() ? Health::kNormal : it->second.health;
}

bool SlowServerDetector::SlowNow(const std::string& server) const {
  auto it = states_.find(server);
  return it != states_.end() && it->second.SlowNow();
}

std::string SlowServerDetector::Reason(const std::string& server) const {
  auto it = states_.find(server);
  return it == states_.end() ? std::string() : it->second.reason;
}

std::vector<std::string> SlowServerDetector::ReadOnlyServers() const {
  std::vector<std::string> out;
  for (const auto& [id, s] : states_) {
    if (s.health == Health::kReadOnly) out.push_back(id);
  }
  return out;
}

std::vector<std::string> SlowServerDetector::OutOfService() const {
  std::vector<std::string> out;
  for (const auto& [id, s] : states_) {
    if (s.health != Health::kNormal) out.push_back(id);
  }
  return out;
}

std::vector<std::string> SlowServerDetector::Alerts() const {
  std::vector<std::string> out;
  for (const auto& [id, s] : states_) {
    if (s.held) out.push_back(s.alert);
  }
  return out;
}

Health ReplicaHealth(const SoftFaultDetector& disks, const SlowServerDetector& servers, const std::string& server,
                     uint32_t disk) {
  return Worse(disks.HealthOf(server, disk), servers.HealthOf(server));
}

bool ReplicaSlowNow(const SoftFaultDetector& disks, const SlowServerDetector& servers, const std::string& server,
                    uint32_t disk) {
  return disks.SlowNow(server, disk) || servers.SlowNow(server);
}

}  // namespace strata::dfs::master
