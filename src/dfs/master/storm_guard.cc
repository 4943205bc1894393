#include "dfs/master/storm_guard.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace strata::dfs::master {

void StormGuard::Expire() {
  uint64_t now = clock_->NowMicros();
  uint64_t window_us = options_.recovery_storm_window_ms * 1000;
  while (!deaths_.empty() && (now - deaths_.front().at_us > window_us || deaths_.size() > kDeathsRememberedMax)) {
    deaths_.pop_front();
  }
}

bool StormGuard::RackVanished(const Membership& membership, std::string* rack) const {
  std::map<std::string, int> recent;  // rack -> deaths in the window
  for (const auto& d : deaths_) recent[d.rack]++;
  for (const auto& [name, n] : recent) {
    if (n < 2) continue;
    bool all_dead = true;
    for (const auto& [id, s] : membership.servers()) {
      if (s.record.rack() == name && s.liveness != Liveness::kDead) all_dead = false;
    }
    if (all_dead) {
      *rack = name;
      return true;
    }
  }
  return false;
}

bool StormGuard::OnDeaths(const std::vector<std::string>& dead, const Membership& membership) {
  if (dead.empty()) return false;
  uint64_t now = clock_->NowMicros();
  for (const auto& id : dead) {
    const ServerState* s = membership.Find(id);
    deaths_.push_back({now, id, s ? s->record.rack() : ""});
  }
  Expire();
  size_t known = membership.servers().size();
  size_t threshold = std::max<size_t>(options_.recovery_storm_servers_min,
                                      static_cast<size_t>(std::ceil(options_.recovery_storm_fraction * known)));
  std::string rack;
  std::string why;
  if (options_.recovery_storm_servers_min > 0 && deaths_.size() >= threshold) {
    why = fmt::format("{} chunkservers declared dead within {} ms", deaths_.size(), options_.recovery_storm_window_ms);
  } else if (options_.recovery_storm_servers_min > 0 && RackVanished(membership, &rack)) {
    why = fmt::format("every chunkserver of rack {} declared dead within {} ms", rack, options_.recovery_storm_window_ms);
  } else {
    return false;
  }
  paused_until_us_ = now + options_.recovery_storm_pause_ms * 1000;
  reason_ = why;
  for (const auto& d : deaths_) {
    if (std::find(storm_servers_.begin(), storm_servers_.end(), d.server) == storm_servers_.end()) {
      storm_servers_.push_back(d.server);
    }
  }
  storms_++;
  spdlog::error("master: ALERT: {}: recovery paused for {} ms (a network event is likelier than disk failures)", why,
                options_.recovery_storm_pause_ms);
  return true;
}

void StormGuard::OnTick(const Membership& membership) {
  if (!Paused()) {
    storm_servers_.clear();
    return;
  }
  for (const auto& id : storm_servers_) {
    if (!membership.IsAlive(id)) return;
  }
  spdlog::warn("master: every chunkserver of the storm ({}) is back: recovery resumes", storm_servers_.size());
  paused_until_us_ = 0;
  storm_servers_.clear();
  deaths_.clear();
}

bool StormGuard::Paused() const { return clock_->NowMicros() < paused_until_us_; }

uint64_t StormGuard::PauseRemainingMs() const {
  uint64_t now = clock_->NowMicros();
  return now < paused_until_us_ ? (paused_until_us_ - now) / 1000 : 0;
}

}  // namespace strata::dfs::master
