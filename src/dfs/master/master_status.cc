// CLUSTER_STATUS and /status: the master's view of the cluster as JSON.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "dfs/master/master_service.h"

namespace strata::dfs::master {
namespace {

nlohmann::json DiskJson(const DiskStat& d) {
  return {
      {"index", d.index()},           {"path", d.path()},
      {"media", d.media()},           {"capacity_bytes", d.capacity_bytes()},
      {"used_bytes", d.used_bytes()}, {"free_bytes", d.free_bytes()},
      {"failed", d.failed()},         {"failure", d.failure()},
      {"write_p50_us", d.write_p50_us()}, {"write_p99_us", d.write_p99_us()},
      {"ops", d.ops()},               {"chunks", d.chunks()},
  };
}

}  // namespace

nlohmann::json MasterService::ServersJson() const {
  nlohmann::json servers = nlohmann::json::array();
  uint64_t now = clock_->NowMicros();
  for (const auto& [id, s] : membership_.servers()) {
    nlohmann::json disks = nlohmann::json::array();
    for (const auto& d : s.disks) {
      nlohmann::json dj = DiskJson(d);
      dj["health"] = HealthName(soft_faults_.HealthOf(id, d.index()));
      dj["slow_reason"] = soft_faults_.Reason(id, d.index());
      disks.push_back(std::move(dj));
    }
    servers.push_back({
        {"id", id},
        {"addr", s.record.addr()},
        {"http_addr", s.record.http_addr()},
        {"rack", s.record.rack()},
        {"alive", s.liveness == Liveness::kAlive},
        {"state", LivenessName(s.liveness)},
        {"last_heartbeat_age_ms", (now - s.last_heartbeat_us) / 1000},
        {"replicas", catalog_.ChunksOn(id).size()},
        {"copies_in_flight", s.copies_in_flight},
        {"commands_queued", queues_.Size(id)},
        {"write_p99_us", SlowServerDetector::LatencyUs(s)},
        {"health", HealthName(slow_servers_.HealthOf(id))},
        {"health_reason", slow_servers_.Reason(id)},
        {"slow_now", slow_servers_.SlowNow(id)},
        {"disks", disks},
    });
  }
  return servers;
}

nlohmann::json MasterService::ChunksJson() const {
  uint64_t sealed = 0, bytes = 0;
  for (const auto& [id, c] : catalog_.chunks()) {
    sealed += c.sealed();
    bytes += c.length();
  }
  RecoveryStats rs = recovery_.Stats();
  nlohmann::json by_live = nlohmann::json::object();
  uint64_t under = rs.lost;
  for (const auto& [live, n] : rs.queued_by_live) {
    by_live[std::to_string(live)] = n;
    under += n;
  }
  by_live["0"] = rs.lost;
  return {
      {"total", catalog_.chunks().size()},
      {"sealed", sealed},
      {"open", catalog_.chunks().size() - sealed},
      {"sealed_bytes", bytes},
      {"under_replicated", under},
      {"under_replicated_by_replicas_left", by_live},
      {"lost", rs.lost},
      {"spread_short", spread_short_.size()},
      {"gc_pending", catalog_.gc().size()},
  };
}

nlohmann::json MasterService::RecoveryJson() const {
  RecoveryStats rs = recovery_.Stats();
  return {
      {"queued", rs.queued},
      {"in_flight", rs.in_flight},
      {"in_flight_bytes", rs.in_flight_bytes},
      {"urgent_in_flight", rs.urgent_in_flight},
      {"done", rs.done},
      {"done_bytes", rs.done_bytes},
      {"failed", rs.failed},
      {"moves_in_flight", rs.moves_in_flight},
      {"moves_done", rs.moves_done},
      {"paused", storm_.Paused()},
      {"paused_remaining_ms", storm_.PauseRemainingMs()},
      {"alert", storm_.Paused() ? storm_.reason() : std::string()},
      {"storms", storm_.storms()},
      {"copies_per_server", recovery_.copies_per_server()},
      {"copies_per_server_max", options_.recovery_copies_per_server_max},
      {"bytes_per_sec", recovery_.rate_limit_bytes_per_sec()},
      {"bytes_per_sec_min", throttle_.floor_bytes_per_sec()},
      {"bytes_per_sec_max", options_.recovery_bytes_per_sec_max},
      {"throttle_level", throttle_.level()},
      {"foreground_p99_us", throttle_.foreground_p99_us()},
      {"foreground_p99_baseline_us", throttle_.baseline_us()},
      {"foreground_p99_target_us", throttle_.target_us()},
  };
}

// What needs an operator: slow disks or servers the bound keeps in
// service, and a paused recovery.
nlohmann::json MasterService::AlertsJson() const {
  nlohmann::json alerts = nlohmann::json::array();
  for (const auto& a : slow_servers_.Alerts()) alerts.push_back({{"kind", "slow_chunkserver_bound"}, {"message", a}});
  for (const auto& a : soft_faults_.Alerts()) alerts.push_back({{"kind", "slow_disk_bound"}, {"message", a}});
  if (storm_.Paused()) alerts.push_back({{"kind", "recovery_paused"}, {"message", storm_.reason()}});
  return alerts;
}

nlohmann::json MasterService::StatusJson() {
  std::lock_guard lock(mu_);
  nlohmann::json servers = ServersJson();
  std::map<std::string, std::pair<int, int>> racks;  // rack -> (servers, alive)
  uint64_t capacity = 0, used = 0, free = 0, disks = 0, failed_disks = 0, alive = 0;
  // A file system is counted once per host however many disk directories
  // (of one or more chunkservers) it holds, as on a one-machine cluster;
  // failed disks offer no space.
  std::set<std::pair<std::string, uint64_t>> file_systems;
  for (const auto& [id, s] : membership_.servers()) {
    auto& r = racks[s.record.rack()];
    r.first++;
    if (s.liveness != Liveness::kAlive) continue;
    r.second++;
    alive++;
    std::string host = s.record.addr().substr(0, s.record.addr().rfind(':'));
    for (const auto& d : s.disks) {
      disks++;
      failed_disks += d.failed();
      used += d.used_bytes();
      if (d.failed()) continue;
      if (d.device_id() != 0 && !file_systems.insert({host, d.device_id()}).second) continue;
      capacity += d.capacity_bytes();
      free += d.free_bytes();
    }
  }
  nlohmann::json racks_json = nlohmann::json::array();
  for (const auto& [name, n] : racks) racks_json.push_back({{"name", name}, {"chunkservers", n.first}, {"alive", n.second}});
  SoftFaultBudget budget = FaultBudget();
  return {
      {"role", "master"},
      {"master", advertised_addr_},
      {"cluster_id", catalog_.cluster_id()},
      {"uptime_s", (clock_->NowMicros() - started_us_) / 1000000},
      {"startup",
       {{"grace_remaining_ms",
         (std::max(clock_->NowMicros(), started_us_ + options_.startup_grace_ms * 1000) - clock_->NowMicros()) / 1000},
        {"allocations_waiting", allocations_waiting_}}},
      {"chunkservers", servers},
      {"racks", racks_json},
      {"totals",
       {{"chunkservers", membership_.servers().size()}, {"alive", alive}, {"racks", racks.size()}, {"disks", disks},
        {"failed_disks", failed_disks}, {"capacity_bytes", capacity}, {"used_bytes", used}, {"free_bytes", free}}},
      {"soft_fault_alert", soft_fault_alert_},
      {"soft_faults",
       {{"disks_out_of_service", budget.disks_out}, {"disks_out_of_service_max", budget.cap},
        {"slow_chunkservers", slow_servers_.OutOfService()}, {"slow_disks", soft_faults_.OutOfService()},
        {"alerts_raised", soft_faults_.alerts_raised() + slow_servers_.alerts_raised()}}},
      {"alerts", AlertsJson()},
      {"files", catalog_.file_count()},
      {"directories", catalog_.dir_count()},
      {"chunks", ChunksJson()},
      {"recovery", RecoveryJson()},
  };
}

Status MasterService::ClusterStatus(const ClusterStatusRequest&, ClusterStatusResponse* resp) {
  resp->set_json(StatusJson().dump());
  return Status::Ok();
}

}  // namespace strata::dfs::master
