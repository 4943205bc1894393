// BM_STATUS and /status: the blockmanager's view as JSON.
#include "block/manager/blockmanager_service.h"

namespace strata::block::manager {
namespace {

const char* DurabilityName(uint32_t d) { return d == dfs::DURABILITY_MEMORY ? "memory" : "sync"; }

}  // namespace

nlohmann::json BlockManagerService::ServersJson() const {
  nlohmann::json servers = nlohmann::json::array();
  uint64_t now = clock_->NowMicros();
  for (const auto& [id, s] : membership_.servers()) {
    servers.push_back({
        {"id", id},
        {"addr", s.record.addr()},
        {"http_addr", s.record.http_addr()},
        {"alive", s.liveness == Liveness::kAlive},
        {"state", LivenessName(s.liveness)},
        {"last_heartbeat_age_ms", (now - s.last_heartbeat_us) / 1000},
        {"heartbeats", s.heartbeats},
        {"segments", catalog_.SegmentsOwnedBy(id).size()},
    });
  }
  return servers;
}

nlohmann::json BlockManagerService::VolumesJson() const {
  nlohmann::json volumes = nlohmann::json::array();
  for (const auto& [id, v] : catalog_.volumes()) {
    VolumeInfo info = ToVolumeInfo(v);
    volumes.push_back({
        {"name", v.name()},
        {"id", id},
        {"size_bytes", v.size_bytes()},
        {"durability", DurabilityName(v.durability())},
        {"partition", v.partition()},
        {"segment_count", v.segment_count()},
        {"segment_size_bytes", v.geometry().segment_size_bytes()},
        {"live_bytes", info.live_bytes()},
        {"stored_bytes", info.stored_bytes()},
    });
  }
  return volumes;
}

nlohmann::json BlockManagerService::SegmentsJson() const {
  nlohmann::json segments = nlohmann::json::array();
  for (const auto& [key, s] : catalog_.segments()) {
    if (segments.size() >= options_.status_segments_max) break;
    const VolumeRecord* v = catalog_.FindVolume(key.first);
    SegmentInfo info = ToSegmentInfo(s);
    segments.push_back({
        {"volume", v ? v->name() : std::string()},
        {"volume_id", key.first},
        {"index", key.second},
        {"owner", s.owner_id()},
        {"owner_addr", info.owner_addr()},
        {"last_owner", s.last_owner_id()},
        {"epoch", s.epoch()},
        {"moves", s.moves()},
        {"tokens", info.tokens()},
        {"restricted", info.restricted()},
        {"state", info.state()},
        {"live_bytes", info.live_bytes()},
        {"stored_bytes", info.stored_bytes()},
    });
  }
  return segments;
}

nlohmann::json BlockManagerService::PendingJson() const {
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& [id, p] : catalog_.pending()) {
    auto a = deletion_attempts_.find(id);
    pending.push_back({
        {"volume_id", id},
        {"name", p.name()},
        {"dfs_path", p.dfs_path()},
        {"deleted_us", p.deleted_us()},
        {"attempts", a == deletion_attempts_.end() ? 0 : a->second.attempts},
        {"last_error", a == deletion_attempts_.end() ? std::string() : a->second.last_error},
    });
  }
  return pending;
}

nlohmann::json BlockManagerService::StatusJson() {
  std::lock_guard lock(mu_);
  uint64_t now = clock_->WallMicros(), restricted = 0;
  for (const auto& [key, s] : catalog_.segments()) restricted += IsRestricted(s, now, policy_);
  nlohmann::json domain = nlohmann::json::array();
  for (const auto& id : catalog_.domain().members()) domain.push_back(id);
  return {
      {"role", "blockmanager"},
      {"blockmanager", advertised_addr_},
      {"uptime_s", (clock_->NowMicros() - started_us_) / 1000000},
      {"blockservers", ServersJson()},
      {"volumes", VolumesJson()},
      {"segments", SegmentsJson()},
      {"segments_listed_max", options_.status_segments_max},
      {"failure_domain", {{"members", domain}, {"formed_us", catalog_.domain().formed_us()}}},
      {"pending_deletions", PendingJson()},
      {"totals",
       {{"blockservers", membership_.servers().size()},
        {"alive", membership_.alive_count()},
        {"volumes", catalog_.volumes().size()},
        {"segments", catalog_.segments().size()},
        {"segments_unassigned", catalog_.SegmentsOwnedBy("").size()},
        {"segments_restricted", restricted},
        {"segment_moves", m_.segment_moves->Value()},
        {"pending_deletions", catalog_.pending().size()}}},
  };
}

}  // namespace strata::block::manager
