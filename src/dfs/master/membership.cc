#include "dfs/master/membership.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace strata::dfs::master {

const char* LivenessName(Liveness l) {
  switch (l) {
    case Liveness::kUnknown: return "unknown";
    case Liveness::kAlive: return "alive";
    case Liveness::kDead: return "dead";
  }
  return "?";
}

Membership::Membership(Catalog* catalog, const Clock* clock, const MasterOptions& options)
    : catalog_(catalog), clock_(clock), options_(options) {}

void Membership::LoadFromCatalog() {
  uint64_t now = clock_->NowMicros();
  for (const auto& [id, rec] : catalog_->servers()) {
    ServerState& s = servers_[id];
    s.record = rec;
    s.liveness = Liveness::kUnknown;
    s.last_heartbeat_us = now;
  }
}

Status Membership::Register(const RegisterRequest& req) {
  if (req.server_id().empty() || req.addr().empty()) {
    return Status::InvalidArgument("register: server_id and addr are required");
  }
  if (auto it = servers_.find(req.server_id());
      it != servers_.end() && it->second.liveness == Liveness::kAlive && !SameProcessOrRestart(it->second, req)) {
    const ServerState& live = it->second;
    spdlog::warn("master: refused a registration of chunkserver {} from {}: it is alive at {}", req.server_id(),
                 req.addr(), live.record.addr());
    return Status::AlreadyExists(fmt::format(
        "chunkserver {} is already registered and alive at {} (last heartbeat {} ms ago); this process at {} "
        "is refused: give it another --id, or stop the other one",
        req.server_id(), live.record.addr(), (clock_->NowMicros() - live.last_heartbeat_us) / 1000, req.addr()));
  }
  ServerRecord rec;
  rec.set_server_id(req.server_id());
  rec.set_addr(req.addr());
  rec.set_rack(req.rack().empty() ? "default" : req.rack());
  rec.set_http_addr(req.http_addr());
  auto stored = catalog_->servers().find(rec.server_id());
  if (stored == catalog_->servers().end() || stored->second.SerializeAsString() != rec.SerializeAsString()) {
    Mutation m;
    m.PutServer(rec);
    RETURN_IF_ERROR(catalog_->Commit(m));
  }
  ServerState& s = servers_[rec.server_id()];
  if (s.liveness != Liveness::kAlive) {
    spdlog::info("master: chunkserver {} at {} (rack {}) registered", rec.server_id(), rec.addr(), rec.rack());
  }
  s.record = rec;
  s.liveness = Liveness::kAlive;
  s.last_heartbeat_us = clock_->NowMicros();
  s.registered_us = s.last_heartbeat_us;
  s.disks.assign(req.disks().begin(), req.disks().end());
  s.disk_ids.assign(req.disk_ids().begin(), req.disk_ids().end());
  return Status::Ok();
}

bool Membership::SameProcessOrRestart(const ServerState& live, const RegisterRequest& req) {
  bool any_ids = false;
  for (const std::string& id : req.disk_ids()) {
    if (id.empty()) continue;
    any_ids = true;
    if (std::find(live.disk_ids.begin(), live.disk_ids.end(), id) != live.disk_ids.end()) return true;
  }
  bool live_has_ids = std::any_of(live.disk_ids.begin(), live.disk_ids.end(), [](const std::string& id) {
    return !id.empty();
  });
  return !any_ids && !live_has_ids && live.record.addr() == req.addr();
}

bool Membership::Heartbeat(const HeartbeatRequest& req) {
  auto it = servers_.find(req.server_id());
  if (it == servers_.end() || it->second.liveness != Liveness::kAlive) return false;
  ServerState& s = it->second;
  s.last_heartbeat_us = clock_->NowMicros();
  s.heartbeats++;
  if (req.disks_size() > 0) s.disks.assign(req.disks().begin(), req.disks().end());
  s.copies_in_flight = req.copies_in_flight();
  return true;
}

bool Membership::DiskFailed(const std::string& id, uint32_t disk) const {
  const ServerState* s = Find(id);
  if (!s) return false;
  for (const auto& d : s->disks) {
    if (d.index() == disk) return d.failed();
  }
  return false;
}

std::vector<std::string> Membership::DetectDead() {
  std::vector<std::string> dead;
  uint64_t now = clock_->NowMicros();
  const uint64_t timeout_us = options_.chunkserver_dead_after_ms * 1000;
  // Not heard from since the master started: it may be backing off from the
  // master's outage, so it has at least the startup grace period to return.
  const uint64_t unknown_timeout_us = std::max(timeout_us, options_.startup_grace_ms * 1000);
  for (auto& [id, s] : servers_) {
    if (s.liveness == Liveness::kDead) continue;
    if (now - s.last_heartbeat_us <= (s.liveness == Liveness::kUnknown ? unknown_timeout_us : timeout_us)) continue;
    spdlog::warn("master: chunkserver {} ({}) declared dead: no heartbeat for {} ms", id, s.record.addr(),
                 (now - s.last_heartbeat_us) / 1000);
    s.liveness = Liveness::kDead;
    dead.push_back(id);
  }
  return dead;
}

const ServerState* Membership::Find(const std::string& id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : &it->second;
}

bool Membership::IsAlive(const std::string& id) const {
  const ServerState* s = Find(id);
  return s && s->liveness == Liveness::kAlive;
}

bool Membership::CountsReplicas(const std::string& id) const {
  const ServerState* s = Find(id);
  return s && s->liveness != Liveness::kDead;
}

size_t Membership::alive_count() const {
  size_t n = 0;
  for (const auto& [id, s] : servers_) n += s.liveness == Liveness::kAlive;
  return n;
}

}  // namespace strata::dfs::master
