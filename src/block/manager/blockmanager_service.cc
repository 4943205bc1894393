#include "block/manager/blockmanager_service.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "block/manager/volume_geometry.h"

namespace strata::block::manager {

BlockManagerService::BlockManagerService(meta::MetaStore* store, Clock* clock, VolumeDataDeleter* deleter,
                                         MetricsRegistry* metrics, BlockManagerOptions options)
    : options_(std::move(options)),
      clock_(clock),
      deleter_(deleter),
      metrics_(metrics),
      catalog_(store),
      membership_(&catalog_, clock, options_) {
  policy_.tokens_max = options_.failure_domain_tokens;
  policy_.refill_us = options_.failure_domain_refill_ms * 1000;
  policy_.domain_servers = options_.failure_domain_servers;
  default_geometry_.set_block_size(options_.block_size);
  default_geometry_.set_segment_size_bytes(options_.segment_size_bytes);
  default_geometry_.set_segments_per_group(options_.segments_per_group);
  default_geometry_.set_stripe_unit_bytes(options_.stripe_unit_bytes);
  auto counter = [&](const char* name, const char* help) { return metrics_->GetCounter(name, help); };
  auto gauge = [&](const char* name, const char* help) { return metrics_->GetGauge(name, help); };
  m_.volumes = gauge("strata_blockmanager_volumes", "Volumes");
  m_.segments = gauge("strata_blockmanager_segments", "Segments of all volumes");
  m_.segments_unassigned = gauge("strata_blockmanager_segments_unassigned",
                                 "Segments that never had an owner (no blockserver alive)");
  m_.segments_restricted = gauge("strata_blockmanager_segments_restricted",
                                 "Segments out of failure-domain tokens: they move only inside the shared domain");
  m_.servers_alive = gauge("strata_blockmanager_blockservers_alive", "Blockservers alive");
  m_.servers_dead = gauge("strata_blockmanager_blockservers_dead", "Blockservers declared dead");
  m_.pending_deletions = gauge("strata_blockmanager_pending_deletions",
                               "Deleted volumes whose dfs directory is not yet confirmed gone");
  m_.segment_moves = counter("strata_blockmanager_segment_moves_total", "Segments moved off a dead blockserver");
  m_.heartbeats = counter("strata_blockmanager_heartbeats_total", "Blockserver heartbeats received");
  m_.servers_died = counter("strata_blockmanager_blockservers_died_total", "Blockservers declared dead");
  m_.dfs_deletes_failed = counter("strata_blockmanager_dfs_deletes_failed_total",
                                  "Attempts to delete a volume's dfs directory that failed (retried)");
}

Status BlockManagerService::Start() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(options_.Validate());
  started_us_ = clock_->NowMicros();
  RETURN_IF_ERROR(catalog_.Load().WithContext("load blockmanager metadata"));
  membership_.LoadFromCatalog();
  UpdateGaugesLocked();
  spdlog::info("blockmanager: loaded {} volumes, {} segments, {} blockservers, {} pending dfs deletions",
               catalog_.volumes().size(), catalog_.segments().size(), catalog_.servers().size(),
               catalog_.pending().size());
  return Status::Ok();
}

void BlockManagerService::SetAdvertisedAddress(std::string addr) {
  std::lock_guard lock(mu_);
  advertised_addr_ = std::move(addr);
}

Result<GeometryRecord> BlockManagerService::RequestedGeometry(const VolumeGeometry& g) const {
  GeometryRecord requested;
  requested.set_block_size(g.block_size());
  requested.set_segment_size_bytes(g.segment_size_bytes());
  requested.set_segments_per_group(g.segments_per_group());
  requested.set_stripe_unit_bytes(g.stripe_unit_bytes());
  GeometryRecord resolved = ResolveGeometry(requested, default_geometry_);
  RETURN_IF_ERROR(ValidateGeometry(resolved));
  return resolved;
}

// `size_bytes` rounded up to a whole block, within the limits; `segments`
// receives the segment count it needs.
Result<uint64_t> BlockManagerService::CheckedSize(uint64_t size_bytes, const GeometryRecord& g,
                                                  uint64_t* segments) const {
  if (size_bytes == 0) return Status::InvalidArgument("volume size must be > 0");
  if (size_bytes > options_.volume_size_max_bytes) {
    return Status::InvalidArgument(fmt::format("volume size {} is over the limit of {} (volume_size_max)",
                                               FormatSize(size_bytes), FormatSize(options_.volume_size_max_bytes)));
  }
  uint64_t rounded = RoundUpToBlock(size_bytes, g.block_size());
  if (rounded > options_.volume_size_max_bytes) {
    return Status::InvalidArgument(fmt::format("volume size {} rounded to whole blocks is over the limit of {}",
                                               FormatSize(size_bytes), FormatSize(options_.volume_size_max_bytes)));
  }
  *segments = SegmentCountFor(rounded, g);
  if (*segments > options_.volume_segments_max) {
    return Status::InvalidArgument(fmt::format(
        "a volume of {} needs {} segments of {}, more than the {} allowed (volume_segments_max)", FormatSize(rounded),
        *segments, FormatSize(g.segment_size_bytes()), options_.volume_segments_max));
  }
  return rounded;
}

const VolumeRecord* BlockManagerService::FindByName(const std::string& name) const {
  return catalog_.FindVolumeByName(name);
}

// Adds segments [from, to) of `v` to `m`, each placed on a live server
// (unassigned when none is alive).
Status BlockManagerService::AddSegments(const VolumeRecord& v, uint32_t from, uint32_t to, CatalogMutation* m) const {
  uint64_t total = catalog_.segments().size() + (to - from);
  if (total > options_.segments_max) {
    return Status::ResourceExhausted(fmt::format("the blockmanager holds {} segments; {} more would exceed "
                                                 "segments_max ({})",
                                                 catalog_.segments().size(), to - from, options_.segments_max));
  }
  SegmentAssigner assigner = MakeAssigner();
  uint64_t now = clock_->WallMicros();
  for (uint32_t i = from; i < to; ++i) {
    SegmentRecord seg = NewSegment(v.id(), i, policy_, now);
    assigner.Place(&seg);
    m->PutSegment(seg);
  }
  return Status::Ok();
}

Status BlockManagerService::CreateVolume(const CreateVolumeRequest& req, CreateVolumeResponse* resp) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ValidateVolumeName(req.name()));
  if (req.durability() != dfs::DURABILITY_SYNC && req.durability() != dfs::DURABILITY_MEMORY) {
    return Status::InvalidArgument(fmt::format("unknown durability {}", static_cast<int>(req.durability())));
  }
  ASSIGN_OR_RETURN(GeometryRecord g, RequestedGeometry(req.geometry()));
  uint64_t segments = 0;
  ASSIGN_OR_RETURN(uint64_t size, CheckedSize(req.size_bytes(), g, &segments));
  if (FindByName(req.name())) return Status::AlreadyExists(fmt::format("a volume named '{}' exists", req.name()));
  if (catalog_.volumes().size() >= options_.volumes_max) {
    return Status::ResourceExhausted(fmt::format("the blockmanager holds {} volumes (volumes_max)",
                                                 catalog_.volumes().size()));
  }
  CountersRecord counters = catalog_.counters();
  VolumeRecord v;
  v.set_id(counters.next_volume_id());
  v.set_name(req.name());
  v.set_size_bytes(size);
  v.set_durability(static_cast<uint32_t>(req.durability()));
  v.set_partition(VolumePartition(v.id(), options_.partitions));
  *v.mutable_geometry() = g;
  v.set_segment_count(static_cast<uint32_t>(segments));
  v.set_created_us(clock_->WallMicros());
  counters.set_next_volume_id(v.id() + 1);
  CatalogMutation m;
  m.PutVolume(v);
  m.PutCounters(counters);
  RETURN_IF_ERROR(AddSegments(v, 0, v.segment_count(), &m));
  RETURN_IF_ERROR(catalog_.Commit(m));
  UpdateGaugesLocked();
  spdlog::info("blockmanager: created volume '{}' (id {}): {}, {} segments of {}", v.name(), v.id(),
               FormatSize(size), v.segment_count(), FormatSize(g.segment_size_bytes()));
  *resp->mutable_volume() = ToVolumeInfo(v);
  return Status::Ok();
}

Status BlockManagerService::ListVolumes(const ListVolumesRequest&, ListVolumesResponse* resp) {
  std::lock_guard lock(mu_);
  std::vector<const VolumeRecord*> sorted;
  for (const auto& [id, v] : catalog_.volumes()) sorted.push_back(&v);
  std::sort(sorted.begin(), sorted.end(), [](const VolumeRecord* a, const VolumeRecord* b) {
    return a->name() < b->name();
  });
  for (const VolumeRecord* v : sorted) *resp->add_volumes() = ToVolumeInfo(*v);
  return Status::Ok();
}

Status BlockManagerService::GetVolume(const GetVolumeRequest& req, GetVolumeResponse* resp) {
  std::lock_guard lock(mu_);
  const VolumeRecord* v = FindByName(req.name());
  if (!v) return Status::NotFound(fmt::format("no volume named '{}'", req.name()));
  *resp->mutable_volume() = ToVolumeInfo(*v);
  for (const SegmentRecord* s : catalog_.SegmentsOf(v->id())) *resp->add_segments() = ToSegmentInfo(*s);
  return Status::Ok();
}

Status BlockManagerService::ResizeVolume(const ResizeVolumeRequest& req, ResizeVolumeResponse* resp) {
  std::lock_guard lock(mu_);
  const VolumeRecord* found = FindByName(req.name());
  if (!found) return Status::NotFound(fmt::format("no volume named '{}'", req.name()));
  VolumeRecord v = *found;
  uint64_t segments = 0;
  ASSIGN_OR_RETURN(uint64_t size, CheckedSize(req.size_bytes(), v.geometry(), &segments));
  if (size < v.size_bytes()) {
    return Status::InvalidArgument(fmt::format(
        "volume '{}' is {}: it can only grow (shrinking would cut off its data), not become {}", v.name(),
        FormatSize(v.size_bytes()), FormatSize(size)));
  }
  if (size > v.size_bytes()) {
    uint32_t old_count = v.segment_count();
    v.set_size_bytes(size);
    v.set_segment_count(static_cast<uint32_t>(segments));
    CatalogMutation m;
    m.PutVolume(v);
    RETURN_IF_ERROR(AddSegments(v, old_count, v.segment_count(), &m));
    RETURN_IF_ERROR(catalog_.Commit(m));
    UpdateGaugesLocked();
    spdlog::info("blockmanager: volume '{}' grown to {} ({} segments, {} new)", v.name(), FormatSize(size),
                 v.segment_count(), v.segment_count() - old_count);
  }
  *resp->mutable_volume() = ToVolumeInfo(v);
  return Status::Ok();
}

// The records go in one batch with the pending-deletion record, so a crash
// leaves either the volume or the duty to delete its data; the data itself
// goes in the tick, once no blockserver may still write it.
Status BlockManagerService::DeleteVolume(const DeleteVolumeRequest& req, DeleteVolumeResponse*) {
  std::lock_guard lock(mu_);
  const VolumeRecord* v = FindByName(req.name());
  if (!v) return Status::NotFound(fmt::format("no volume named '{}'", req.name()));
  uint64_t id = v->id();
  std::string name = v->name();
  CatalogMutation m;
  m.DeleteVolume(id);
  for (const SegmentRecord* s : catalog_.SegmentsOf(id)) m.DeleteSegment({s->volume_id(), s->index()});
  PendingDeletionRecord p;
  p.set_volume_id(id);
  p.set_name(name);
  p.set_dfs_path(VolumeDataDir(id));
  p.set_deleted_us(clock_->WallMicros());
  p.set_not_before_us(p.deleted_us() + (options_.lease_ms + options_.heartbeat_interval_ms) * 1000);
  m.PutPending(p);
  RETURN_IF_ERROR(catalog_.Commit(m));
  reports_.erase(reports_.lower_bound({id, 0}), reports_.lower_bound({id + 1, 0}));
  UpdateGaugesLocked();
  spdlog::info("blockmanager: deleted volume '{}' (id {}); its dfs directory {} goes once its leases ran out", name,
               id, p.dfs_path());
  return Status::Ok();
}

Status BlockManagerService::Register(const BmRegisterRequest& req, BmRegisterResponse* resp) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(membership_.Register(req));
  ReassignLocked();  // segments waiting for any server get one now
  UpdateGaugesLocked();
  resp->set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  resp->set_lease_ms(options_.lease_ms);
  return Status::Ok();
}

Status BlockManagerService::Heartbeat(const BmHeartbeatRequest& req, BmHeartbeatResponse* resp) {
  std::lock_guard lock(mu_);
  m_.heartbeats->Add();
  if (!membership_.Heartbeat(req.server_id())) {
    resp->set_reregister(true);  // no segments and no lease until it registers
    return Status::Ok();
  }
  for (const auto& r : req.segments()) {
    const SegmentRecord* s = catalog_.FindSegment({r.volume_id(), r.index()});
    if (s && s->owner_id() == req.server_id() && s->epoch() == r.epoch()) reports_[{r.volume_id(), r.index()}] = r;
  }
  for (const SegmentKey& key : catalog_.SegmentsOwnedBy(req.server_id())) {
    const SegmentRecord* s = catalog_.FindSegment(key);
    const VolumeRecord* v = catalog_.FindVolume(key.first);
    if (!s || !v) continue;
    SegmentAssignment* a = resp->add_segments();
    a->set_volume_id(key.first);
    a->set_index(key.second);
    a->set_epoch(s->epoch());
    a->set_volume_name(v->name());
    a->set_segment_size_bytes(v->geometry().segment_size_bytes());
    a->set_block_size(v->geometry().block_size());
    a->set_durability(static_cast<dfs::Durability>(v->durability()));
  }
  resp->set_lease_ms(options_.lease_ms);
  return Status::Ok();
}

Status BlockManagerService::GetStatus(const BmStatusRequest&, BmStatusResponse* resp) {
  resp->set_json(StatusJson().dump());
  return Status::Ok();
}

VolumeInfo BlockManagerService::ToVolumeInfo(const VolumeRecord& v) const {
  VolumeInfo info;
  info.set_name(v.name());
  info.set_id(v.id());
  info.set_size_bytes(v.size_bytes());
  info.set_durability(static_cast<dfs::Durability>(v.durability()));
  info.set_partition(v.partition());
  VolumeGeometry* g = info.mutable_geometry();
  g->set_block_size(v.geometry().block_size());
  g->set_segment_size_bytes(v.geometry().segment_size_bytes());
  g->set_segments_per_group(v.geometry().segments_per_group());
  g->set_stripe_unit_bytes(v.geometry().stripe_unit_bytes());
  info.set_segment_count(v.segment_count());
  info.set_created_us(v.created_us());
  uint64_t live = 0, stored = 0;
  for (auto it = reports_.lower_bound({v.id(), 0}); it != reports_.end() && it->first.first == v.id(); ++it) {
    live += it->second.live_bytes();
    stored += it->second.stored_bytes();
  }
  info.set_live_bytes(live);
  info.set_stored_bytes(stored);
  return info;
}

SegmentInfo BlockManagerService::ToSegmentInfo(const SegmentRecord& s) const {
  SegmentInfo info;
  info.set_volume_id(s.volume_id());
  info.set_index(s.index());
  info.set_owner_id(s.owner_id());
  if (const BlockServerState* owner = membership_.Find(s.owner_id())) info.set_owner_addr(owner->record.addr());
  info.set_epoch(s.epoch());
  TokenBucket bucket = TokensAt(s, clock_->WallMicros(), policy_);
  info.set_tokens(bucket.tokens);
  info.set_restricted(bucket.tokens == 0);
  auto report = reports_.find({s.volume_id(), s.index()});
  if (report != reports_.end()) {
    info.set_state(report->second.state());
    info.set_live_bytes(report->second.live_bytes());
    info.set_stored_bytes(report->second.stored_bytes());
  } else {
    info.set_state(s.owner_id().empty() ? "unassigned" : "assigned");
  }
  return info;
}

}  // namespace strata::block::manager
