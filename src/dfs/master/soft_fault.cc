#include "dfs/master/soft_fault.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace strata::dfs::master {
namespace {

uint64_t Median(std::vector<uint64_t> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

const char* DiskHealthName(DiskHealth h) {
  switch (h) {
    case DiskHealth::kNormal: return "normal";
    case DiskHealth::kReadOnly: return "read_only";
    case DiskHealth::kOffline: return "offline";
  }
  return "?";
}

bool SoftFaultDetector::Baseline(const Membership& membership, uint64_t* median, uint64_t* mad,
                                 size_t* disks) const {
  std::vector<uint64_t> p99s;
  for (const auto& [id, s] : membership.servers()) {
    if (s.liveness != Liveness::kAlive) continue;
    for (const auto& d : s.disks) {
      if (!d.failed() && d.ops() > 0) p99s.push_back(d.write_p99_us());
    }
  }
  *disks = p99s.size();
  if (p99s.size() < options_.soft_fault_disks_min || p99s.empty()) return false;
  *median = Median(p99s);
  std::vector<uint64_t> dev;
  for (uint64_t x : p99s) dev.push_back(x > *median ? x - *median : *median - x);
  *mad = std::max(Median(dev), *median / 2);
  return true;
}

size_t SoftFaultDetector::DegradedCount() const {
  size_t n = 0;
  for (const auto& [k, s] : states_) n += s.health != DiskHealth::kNormal;
  return n;
}

std::vector<SoftFaultDetector::DiskKey> SoftFaultDetector::Observe(const std::string& server,
                                                                   const Membership& membership) {
  std::vector<DiskKey> degraded;
  const ServerState* s = membership.Find(server);
  uint64_t median = 0, mad = 0;
  size_t disks = 0;
  if (!options_.soft_fault_enabled || !s || !Baseline(membership, &median, &mad, &disks)) return degraded;
  size_t total_disks = 0;
  for (const auto& [id, st] : membership.servers()) total_disks += st.disks.size();
  size_t cap = std::max<size_t>(1, static_cast<size_t>(options_.soft_fault_disks_fraction_max * total_disks));
  double limit = static_cast<double>(median) + options_.soft_fault_mad_k * static_cast<double>(mad);
  for (const auto& d : s->disks) {
    if (d.ops() == 0) continue;  // no sample this time
    State& st = states_[{server, d.index()}];
    uint64_t p99 = d.write_p99_us();
    bool slow = p99 >= options_.soft_fault_latency_floor_us && static_cast<double>(p99) > limit;
    st.slow_streak = slow ? st.slow_streak + 1 : 0;
    st.ok_streak = slow ? 0 : st.ok_streak + 1;
    if (st.health != DiskHealth::kNormal && st.ok_streak >= options_.soft_fault_heartbeats_min) {
      spdlog::info("master: disk {} of {} is no longer slow; back in service", d.index(), server);
      st.health = DiskHealth::kNormal;
      st.reason.clear();
      continue;
    }
    if (st.health != DiskHealth::kNormal || st.slow_streak < options_.soft_fault_heartbeats_min) continue;
    std::string why = fmt::format("write p99 {} us vs cluster median {} us (MAD {} us, {} disks)", p99, median, mad,
                                  disks);
    if (DegradedCount() >= cap) {
      alert_ = fmt::format("disk {} of {} is slow ({}), but {} disk(s) are already out of service (limit {})",
                           d.index(), server, why, DegradedCount(), cap);
      spdlog::error("master: ALERT: {}", alert_);
      continue;
    }
    spdlog::warn("master: disk {} of {} is slow ({}): read-only, its chunks get an extra replica", d.index(), server,
                 why);
    st.health = DiskHealth::kReadOnly;
    st.reason = why;
    degraded.push_back({server, d.index()});
  }
  return degraded;
}

void SoftFaultDetector::SetOffline(const DiskKey& disk) {
  auto it = states_.find(disk);
  if (it != states_.end() && it->second.health == DiskHealth::kReadOnly) it->second.health = DiskHealth::kOffline;
}

DiskHealth SoftFaultDetector::Health(const std::string& server, uint32_t disk) const {
  auto it = states_.find({server, disk});
  return it == states_.end() ? DiskHealth::kNormal : it->second.health;
}

std::vector<SoftFaultDetector::DiskKey> SoftFaultDetector::ReadOnlyDisks() const {
  std::vector<DiskKey> out;
  for (const auto& [k, s] : states_) {
    if (s.health == DiskHealth::kReadOnly) out.push_back(k);
  }
  return out;
}

std::string SoftFaultDetector::Reason(const std::string& server, uint32_t disk) const {
  auto it = states_.find({server, disk});
  return it == states_.end() ? std::string() : it->second.reason;
}

}  // namespace strata::dfs::master
