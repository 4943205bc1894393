// The blockmanager's periodic work: dead blockservers, segment moves and
// placement, and the dfs deletions of deleted volumes.
#include <algorithm>
#include <map>
#include <utility>

#include <spdlog/spdlog.h>

#include "block/manager/blockmanager_service.h"

namespace strata::block::manager {

SegmentAssigner BlockManagerService::MakeAssigner() const {
  return SegmentAssigner(membership_.AliveIds(), catalog_.OwnerLoad(), catalog_.domain(), policy_);
}

void BlockManagerService::ReassignLocked() {
  SegmentAssigner assigner = MakeAssigner();
  if (!assigner.has_servers()) return;
  assigner.RefreshDomain([this](const std::string& id) { return membership_.IsGone(id); });
  // Every segment that needs a decision, in key order so that the outcome
  // depends only on the state.
  std::vector<SegmentKey> keys;
  for (const std::string& owner : catalog_.Owners()) {
    if (!owner.empty() && !membership_.IsGone(owner)) continue;
    const auto& owned = catalog_.SegmentsOwnedBy(owner);
    keys.insert(keys.end(), owned.begin(), owned.end());
  }
  std::sort(keys.begin(), keys.end());
  uint64_t now = clock_->WallMicros();
  CatalogMutation m;
  std::vector<SegmentKey> moved;
  for (const SegmentKey& key : keys) {
    SegmentRecord seg = *catalog_.FindSegment(key);
    bool first = seg.owner_id().empty();
    if (first ? !assigner.Place(&seg) : !assigner.Move(&seg, now)) continue;
    m.PutSegment(seg);
    if (!first) moved.push_back(key);
  }
  if (assigner.domain_changed()) m.PutDomain(assigner.domain());
  if (m.empty()) return;
  Status st = catalog_.Commit(m);
  if (!st.ok()) {  // nothing was announced; the next tick decides again
    spdlog::error("blockmanager: cannot persist segment assignments: {}", st.ToString());
    return;
  }
  // One line per (from, to) pair: a dead server may have had thousands.
  std::map<std::pair<std::string, std::string>, uint64_t> flows;
  uint64_t restricted = 0;
  for (const SegmentKey& key : moved) {
    const SegmentRecord* s = catalog_.FindSegment(key);
    reports_.erase(key);
    flows[{s->last_owner_id(), s->owner_id()}]++;
    restricted += s->tokens() == 0;
    spdlog::debug("blockmanager: segment {}/{} moved from {} to {} at epoch {} ({} tokens left)", key.first,
                  key.second, s->last_owner_id(), s->owner_id(), s->epoch(), s->tokens());
  }
  for (const auto& [flow, n] : flows) {
    spdlog::info("blockmanager: {} segments moved from {} to {}", n, flow.first, flow.second);
  }
  if (restricted > 0) {
    spdlog::warn("blockmanager: {} moved segments are out of failure-domain tokens: restricted to the shared domain",
                 restricted);
  }
  m_.segment_moves->Add(moved.size());
  if (assigner.domain_changed()) {
    std::string members;
    for (const auto& id : assigner.domain().members()) members += (members.empty() ? "" : ", ") + id;
    spdlog::warn("blockmanager: shared failure domain is now [{}]", members);
  }
}

void BlockManagerService::Tick() {
  std::lock_guard tick_lock(tick_mu_);
  std::vector<DueDeletion> due;
  {
    std::lock_guard lock(mu_);
    m_.servers_died->Add(membership_.DetectDead().size());
    ReassignLocked();
    due = DueDeletionsLocked();
    UpdateGaugesLocked();
  }
  if (due.empty()) return;
  std::vector<Status> results;
  for (const DueDeletion& d : due) results.push_back(deleter_->DeleteVolumeData(d.dfs_path));
  std::lock_guard lock(mu_);
  FinishDeletions(due, results);
  UpdateGaugesLocked();
}

std::vector<BlockManagerService::DueDeletion> BlockManagerService::DueDeletionsLocked() {
  std::vector<DueDeletion> due;
  uint64_t wall = clock_->WallMicros(), now = clock_->NowMicros();
  for (const auto& [id, p] : catalog_.pending()) {
    if (due.size() >= options_.dfs_deletes_per_tick_max) break;
    if (wall < p.not_before_us()) continue;
    auto attempts = deletion_attempts_.find(id);
    if (attempts != deletion_attempts_.end() && now < attempts->second.next_attempt_us) continue;
    due.push_back({id, p.dfs_path()});
  }
  return due;
}

void BlockManagerService::FinishDeletions(const std::vector<DueDeletion>& due, const std::vector<Status>& results) {
  CatalogMutation m;
  for (size_t i = 0; i < due.size(); ++i) {
    const DueDeletion& d = due[i];
    if (results[i].ok()) {
      m.DeletePending(d.volume_id);
      continue;
    }
    DeletionAttempts& a = deletion_attempts_[d.volume_id];
    a.attempts++;
    a.next_attempt_us = clock_->NowMicros() + options_.dfs_delete_retry_ms * 1000;
    a.last_error = results[i].ToString();
    m_.dfs_deletes_failed->Add();
    spdlog::warn("blockmanager: deleting {} (volume {}) failed, attempt {}, retrying in {} ms: {}", d.dfs_path,
                 d.volume_id, a.attempts, options_.dfs_delete_retry_ms, a.last_error);
  }
  Status st = catalog_.Commit(m);
  if (!st.ok()) {  // the directories are gone; deleting again later is harmless
    spdlog::error("blockmanager: cannot persist finished dfs deletions: {}", st.ToString());
    return;
  }
  for (size_t i = 0; i < due.size(); ++i) {
    if (!results[i].ok()) continue;
    deletion_attempts_.erase(due[i].volume_id);
    spdlog::info("blockmanager: dfs directory {} of deleted volume {} removed", due[i].dfs_path, due[i].volume_id);
  }
}

void BlockManagerService::UpdateGaugesLocked() {
  uint64_t now = clock_->WallMicros(), restricted = 0;
  for (const auto& [key, s] : catalog_.segments()) restricted += IsRestricted(s, now, policy_);
  size_t dead = 0;
  for (const auto& [id, s] : membership_.servers()) dead += s.liveness == Liveness::kDead;
  m_.volumes->Set(static_cast<double>(catalog_.volumes().size()));
  m_.segments->Set(static_cast<double>(catalog_.segments().size()));
  m_.segments_unassigned->Set(static_cast<double>(catalog_.SegmentsOwnedBy("").size()));
  m_.segments_restricted->Set(static_cast<double>(restricted));
  m_.servers_alive->Set(static_cast<double>(membership_.alive_count()));
  m_.servers_dead->Set(static_cast<double>(dead));
  m_.pending_deletions->Set(static_cast<double>(catalog_.pending().size()));
}

}  // namespace strata::block::manager
