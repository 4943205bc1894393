#include "block/manager/blockserver_membership.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace strata::block::manager {

const char* LivenessName(Liveness l) {
  switch (l) {
    case Liveness::kUnknown: return "unknown";
    case Liveness::kAlive: return "alive";
    case Liveness::kDead: return "dead";
  }
  return "?";
}

BlockServerMembership::BlockServerMembership(VolumeCatalog* catalog, const Clock* clock,
                                             const BlockManagerOptions& options)
    : catalog_(catalog), clock_(clock), options_(options) {}

void BlockServerMembership::LoadFromCatalog() {
  uint64_t now = clock_->NowMicros();
  for (const auto& [id, rec] : catalog_->servers()) {
    BlockServerState& s = servers_[id];
    s.record = rec;
    s.liveness = Liveness::kUnknown;
    s.last_heartbeat_us = now;
  }
}

Status BlockServerMembership::Register(const BmRegisterRequest& req) {
  if (req.server_id().empty() || req.addr().empty()) {
    return Status::InvalidArgument("register: server_id and addr are required");
  }
  if (req.server_id().size() > kServerIdBytesMax || req.addr().size() > kServerAddrBytesMax ||
      req.http_addr().size() > kServerAddrBytesMax) {
    return Status::InvalidArgument(fmt::format("register: server_id is limited to {} bytes, addresses to {}",
                                               kServerIdBytesMax, kServerAddrBytesMax));
  }
  uint64_t now = clock_->NowMicros();
  auto it = servers_.find(req.server_id());
  if (it != servers_.end() && it->second.liveness == Liveness::kAlive && it->second.record.addr() != req.addr() &&
      now - it->second.last_heartbeat_us <= options_.dead_after_ms * 1000) {
    return Status::AlreadyExists(fmt::format(
        "blockserver id '{}' is already in use by a live blockserver at {} (heard from {} ms ago); refusing a second "
        "one at {}",
        req.server_id(), it->second.record.addr(), (now - it->second.last_heartbeat_us) / 1000, req.addr()));
  }
  BlockServerRecord rec;
  rec.set_server_id(req.server_id());
  rec.set_addr(req.addr());
  rec.set_http_addr(req.http_addr());
  auto stored = catalog_->servers().find(rec.server_id());
  if (stored == catalog_->servers().end() || stored->second.SerializeAsString() != rec.SerializeAsString()) {
    CatalogMutation m;
    m.PutServer(rec);
    RETURN_IF_ERROR(catalog_->Commit(m));
  }
  BlockServerState& s = servers_[rec.server_id()];
  if (s.liveness != Liveness::kAlive) {
    spdlog::info("blockmanager: blockserver {} at {} registered ({} before)", rec.server_id(), rec.addr(),
                 LivenessName(s.liveness));
  }
  s.record = rec;
  s.liveness = Liveness::kAlive;
  s.last_heartbeat_us = now;
  s.registered_us = now;
  return Status::Ok();
}

bool BlockServerMembership::Heartbeat(const std::string& server_id) {
  auto it = servers_.find(server_id);
  if (it == servers_.end() || it->second.liveness != Liveness::kAlive) return false;
  it->second.last_heartbeat_us = clock_->NowMicros();
  it->second.heartbeats++;
  return true;
}

std::vector<std::string> BlockServerMembership::DetectDead() {
  std::vector<std::string> dead;
  uint64_t now = clock_->NowMicros();
  uint64_t timeout_us = options_.dead_after_ms * 1000;
  for (auto& [id, s] : servers_) {
    if (s.liveness == Liveness::kDead || now - s.last_heartbeat_us <= timeout_us) continue;
    spdlog::warn("blockmanager: blockserver {} ({}) declared dead: {} for {} ms", id, s.record.addr(),
                 s.liveness == Liveness::kUnknown ? "not registered since the manager started" : "no heartbeat",
                 (now - s.last_heartbeat_us) / 1000);
    s.liveness = Liveness::kDead;
    dead.push_back(id);
  }
  return dead;
}

const BlockServerState* BlockServerMembership::Find(const std::string& id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

bool BlockServerMembership::IsAlive(const std::string& id) const {
  const BlockServerState* s = Find(id);
  return s && s->liveness == Liveness::kAlive;
}

bool BlockServerMembership::IsGone(const std::string& id) const {
  const BlockServerState* s = Find(id);
  return !s || s->liveness == Liveness::kDead;
}

std::vector<std::string> BlockServerMembership::AliveIds() const {
  std::vector<std::string> ids;
  for (const auto& [id, s] : servers_) {
    if (s.liveness == Liveness::kAlive) ids.push_back(id);
  }
  return ids;
}

size_t BlockServerMembership::alive_count() const { return AliveIds().size(); }

}  // namespace strata::block::manager
