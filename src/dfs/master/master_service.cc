#include "dfs/master/master_service.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "env/random.h"

namespace strata::dfs::master {

MasterService::MasterService(meta::MetaStore* store, Clock* clock, ChunkserverStub* stub, MetricsRegistry* metrics,
                             MasterOptions options, std::unique_ptr<Random> random)
    : options_(std::move(options)),
      clock_(clock),
      stub_(stub),
      metrics_(metrics),
      random_(random ? std::move(random) : std::make_unique<Random>(RandomSeedFromOs())),
      catalog_(store),
      ns_(&catalog_, clock, options_),
      chunks_(&catalog_, clock),
      membership_(&catalog_, clock, options_),
      recovery_(clock, options_),
      queues_(options_.server_command_queue_max),
      soft_faults_(options_),
      slow_servers_(options_),
      throttle_(clock, options_),
      reconciler_(&catalog_, &chunks_, &recovery_, &membership_, &soft_faults_, &slow_servers_, options_),
      gc_(&catalog_, &queues_),
      storm_(clock, options_) {
  auto counter = [&](const char* name, const char* help) { return metrics_->GetCounter(name, help); };
  auto gauge = [&](const char* name, const char* help) { return metrics_->GetGauge(name, help); };
  m_.replicas_added = counter("strata_master_replicas_added_total", "Replicas added to the chunk map from reports");
  m_.replicas_removed = counter("strata_master_replicas_removed_total", "Replicas dropped from the chunk map");
  m_.deletes_sent = counter("strata_master_delete_commands_total", "DELETE commands handed to chunkservers");
  m_.seals_sent = counter("strata_master_seal_commands_total", "SEAL commands handed to chunkservers");
  m_.copies_started = counter("strata_master_recovery_copies_started_total", "Re-replication copies started");
  m_.copies_done = counter("strata_master_recovery_copies_done_total", "Re-replication copies that landed");
  m_.copies_failed = counter("strata_master_recovery_copies_failed_total", "Copies timed out or aborted");
  m_.leases_expired = counter("strata_master_writer_leases_expired_total",
                              "Files taken over because their writer went silent (open chunk sealed)");
  m_.bad_replicas = counter("strata_master_bad_replicas_total", "Replicas reported corrupt by readers");
  m_.servers_died = counter("strata_master_chunkservers_died_total", "Chunkservers declared dead");
  m_.registrations_refused = counter("strata_master_registrations_refused_total",
                                     "Registrations refused: the id is a live chunkserver's, from another process");
  m_.rack_fallbacks = counter("strata_master_placement_rack_fallbacks_total",
                              "Chunks placed with two replicas in one rack for lack of racks");
  m_.allocations_waiting = gauge("strata_master_allocations_waiting",
                                 "Chunk allocations waiting for chunkservers to register after the master started");
  m_.servers_alive = gauge("strata_master_chunkservers_alive", "Chunkservers alive");
  m_.servers_dead = gauge("strata_master_chunkservers_dead", "Chunkservers declared dead");
  m_.files = gauge("strata_master_files", "Files in the namespace");
  m_.chunks = gauge("strata_master_chunks", "Chunks in the chunk map");
  m_.under_replicated = gauge("strata_master_chunks_under_replicated", "Sealed chunks lacking replicas");
  m_.lost = gauge("strata_master_chunks_lost", "Sealed chunks with no live replica");
  m_.recovery_queued = gauge("strata_master_recovery_queued", "Chunks waiting for a recovery copy");
  m_.recovery_in_flight = gauge("strata_master_recovery_in_flight", "Recovery copies in flight");
  m_.recovery_paused = gauge("strata_master_recovery_paused", "1 while recovery is paused after a failure storm");
  m_.storms = counter("strata_master_failure_storms_total", "Failure storms that paused recovery");
  m_.soft_fault_alerts = counter("strata_master_soft_fault_alerts_total",
                                 "Slow disks or chunkservers left in service because the out-of-service bound was reached");
  m_.soft_fault_alerts_active = gauge("strata_master_soft_fault_alerts_active",
                                      "Slow disks or chunkservers held in service by the bound right now");
  m_.disks_out_of_service = gauge("strata_master_disks_out_of_service",
                                  "Disks read-only or offline as slow (a slow chunkserver counts all its disks)");
  m_.servers_slow = gauge("strata_master_chunkservers_slow", "Chunkservers read-only or offline as slow");
  m_.recovery_rate = gauge("strata_master_recovery_bytes_per_sec",
                           "Current recovery byte budget, adapted to foreground latency");
  m_.recovery_copies_per_server = gauge("strata_master_recovery_copies_per_server",
                                        "Current limit of recovery copies per chunkserver");
  m_.foreground_p99 = gauge("strata_master_foreground_write_p99_us",
                            "Median over in-service disks of the write p99 chunkservers report");
  m_.urgent_copies = counter("strata_master_recovery_urgent_copies_total",
                             "Copies of chunks with one replica left started outside the budget");
  m_.moves_started = counter("strata_master_balance_moves_started_total",
                             "Moves started (balancer and rack spread repairs)");
  m_.moves_done = counter("strata_master_balance_moves_done_total",
                          "Balancer moves whose new replica landed and whose source replica was dropped");
  m_.spread_repairs = counter("strata_master_spread_repairs_total",
                              "Moves started to put a chunk's replicas in distinct racks again");
  m_.gc_pending = gauge("strata_master_gc_pending", "Deleted chunks whose replicas are not yet told to go");
}

Status MasterService::Start() {
  std::lock_guard lock(mu_);
  started_us_ = clock_->NowMicros();
  Random rng(RandomSeedFromOs());
  std::string new_cluster_id = fmt::format("{:016x}{:016x}", rng.Next64(), rng.Next64() | 1);
  RETURN_IF_ERROR(catalog_.Load(clock_->WallMicros(), new_cluster_id).WithContext("load master metadata"));
  membership_.LoadFromCatalog();
  for (const auto& [id, c] : catalog_.chunks()) RefreshRecovery(id);
  SeedLeasesLocked();
  UpdateGauges();
  spdlog::info("master: cluster {}: loaded {} files, {} directories, {} chunks, {} chunkservers, {} chunks awaiting GC",
               catalog_.cluster_id(), catalog_.file_count(), catalog_.dir_count(), catalog_.chunks().size(), catalog_.servers().size(),
               catalog_.gc().size());
  return Status::Ok();
}

void MasterService::SetAdvertisedAddress(std::string addr) {
  std::lock_guard lock(mu_);
  advertised_addr_ = std::move(addr);
}

ReplicaLocation MasterService::Locate(const ReplicaRecord& r) const {
  ReplicaLocation loc;
  loc.set_server_id(r.server_id());
  loc.set_disk(r.disk());
  // A replica on a failed disk is a last resort: readers try it last.
  loc.set_slow(ReplicaSlowNow(soft_faults_, slow_servers_, r.server_id(), r.disk()) ||
               membership_.DiskFailed(r.server_id(), r.disk()));
  if (const ServerState* s = membership_.Find(r.server_id())) {
    loc.set_addr(s->record.addr());
    loc.set_rack(s->record.rack());
  }
  return loc;
}

ChunkInfo MasterService::ToChunkInfo(const ChunkRecord& c) const {
  ChunkInfo info;
  info.set_chunk_id(c.chunk_id());
  info.set_file_offset(c.file_offset());
  const InodeRecord* file = catalog_.FindInode(c.inode());
  info.set_length(chunks_.KnownLength(c, file ? file->min_copies() : 1));
  info.set_sealed(c.sealed());
  info.set_epoch(c.epoch());
  for (const auto& r : c.replicas()) *info.add_replicas() = Locate(r);
  return info;
}

FileInfo MasterService::ToFileInfo(const InodeRecord& rec) const {
  FileInfo info;
  info.set_path(ns_.PathOf(rec.inode()));
  info.set_is_dir(rec.is_dir());
  info.set_mtime_us(rec.mtime_us());
  info.set_inode(rec.inode());
  if (rec.is_dir()) return info;
  info.set_size(chunks_.FileSize(rec));
  info.set_replication(rec.replication());
  info.set_min_copies(rec.min_copies());
  info.set_chunk_size(rec.chunk_size());
  info.set_durability(static_cast<Durability>(rec.durability()));
  info.set_chunk_count(static_cast<uint32_t>(rec.chunks_size()));
  return info;
}

Status MasterService::Mkdir(const MkdirRequest& req, MkdirResponse*) {
  std::lock_guard lock(mu_);
  return ns_.Mkdir(req.path(), req.parents());
}

Status MasterService::Create(const CreateRequest& req, CreateResponse* resp) {
  std::lock_guard lock(mu_);
  CreateArgs args;
  args.path = req.path();
  args.replication = req.replication();
  args.min_copies = req.min_copies();
  args.chunk_size = req.chunk_size();
  args.durability = static_cast<uint32_t>(req.durability());
  args.overwrite = req.overwrite();
  args.temporary = req.temporary();
  ASSIGN_OR_RETURN(InodeRecord rec, ns_.Create(args));
  ForgetRetired();
  if (rec.temporary()) RenewLeaseLocked(rec.inode());  // it lives as long as its writer
  *resp->mutable_info() = ToFileInfo(rec);
  return Status::Ok();
}

Status MasterService::Stat(const StatRequest& req, StatResponse* resp) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(InodeRecord rec, ns_.Stat(req.path()));
  *resp->mutable_info() = ToFileInfo(rec);
  for (uint64_t id : rec.chunks()) {
    if (const ChunkRecord* c = catalog_.FindChunk(id)) *resp->add_chunks() = ToChunkInfo(*c);
  }
  return Status::Ok();
}

Status MasterService::List(const ListRequest& req, ListResponse* resp) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(auto entries, ns_.List(req.path()));
  for (const auto& rec : entries) *resp->add_entries() = ToFileInfo(rec);
  return Status::Ok();
}

Status MasterService::Rename(const RenameRequest& req, RenameResponse*) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ns_.Rename(req.from(), req.to(), req.replace()));
  ForgetRetired();
  return Status::Ok();
}

Status MasterService::Delete(const DeleteRequest& req, DeleteResponse*) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(ns_.Delete(req.path(), req.recursive()));
  ForgetRetired();
  return Status::Ok();
}

// Chunks retired by a namespace change (now GcRecords) need no recovery.
void MasterService::ForgetRetired() {
  for (const auto& [id, gc] : catalog_.gc()) {
    recovery_.Forget(id);
    chunks_.Forget(id);
  }
}

}  // namespace strata::dfs::master
