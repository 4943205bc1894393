// The writer's RPCs: OPEN_WRITE (takeover and fencing), ALLOCATE_CHUNK,
// SEAL_CHUNK, CLOSE_WRITE.
//
// Takeover: OPEN_WRITE bumps the file's writer epoch (persisted first, so
// the old writer's ALLOCATE/SEAL/CLOSE fail with StaleEpoch from then on).
// If the last chunk is still open, the master asks its replicas for their
// lengths and seals it with the new epoch at:
//   - if every replica answered: the min_copies-th largest length. An append
//     was acknowledged only once min_copies replicas held it, so at least
//     min_copies replicas are at least that long: nothing acknowledged is cut
//     and min_copies replicas stay valid;
//   - if only some answered, or some replica's server is not known yet
//     (right after a master restart): the largest length (a silent replica may be one
//     that held the acknowledged data; keeping a longer, unacknowledged tail
//     is harmless, cutting acknowledged bytes is not);
//   - if none answered: the length the master knows from heartbeats.
// SEAL then goes to the replicas that answered with at least that length;
// the others are fixed by reconciliation (reconcile.h). An old writer's
// append racing with the takeover may land on a replica after the lengths
// were read; the seal truncates it and the old writer learns of the
// takeover through StaleEpoch on its next master call.
#include <algorithm>
#include <functional>

#include <spdlog/spdlog.h>

#include "dfs/master/gc.h"
#include "dfs/master/master_service.h"

namespace strata::dfs::master {

// A chunk sealed empty (the writer gave it up before writing, or a takeover
// found nothing in it) holds no data: it leaves the file and its replicas are
// garbage-collected, so readers and status never see a short-handed chunk.
Status MasterService::DropEmptyLastChunk(uint64_t inode) {
  const InodeRecord* file = catalog_.FindInode(inode);
  if (!file) return Status::Ok();
  const ChunkRecord* last = chunks_.LastChunk(*file);
  if (!last || !last->sealed() || last->length() != 0) return Status::Ok();
  InodeRecord updated = *file;
  updated.mutable_chunks()->RemoveLast();
  Mutation m;
  RetireChunks(catalog_, {last->chunk_id()}, &m);
  m.PutInode(updated);
  uint64_t id = last->chunk_id();
  RETURN_IF_ERROR(catalog_.Commit(m));
  RefreshRecovery(id);
  return Status::Ok();
}

Result<MasterService::OpenChunkSeal> MasterService::DecideSeal(
    const ChunkRecord& chunk, uint32_t min_copies, const std::vector<std::string>& addrs,
    const std::vector<Result<ChunkInfoResponse>>& answers) const {
  OpenChunkSeal seal;
  seal.chunk_id = chunk.chunk_id();
  std::vector<uint64_t> lengths;
  for (const auto& a : answers) {
    if (a.ok()) lengths.push_back(a->length());
  }
  std::sort(lengths.begin(), lengths.end(), std::greater<>());
  if (lengths.empty()) {
    seal.length = chunks_.KnownLength(chunk, min_copies);
  } else if (lengths.size() == answers.size() && answers.size() == static_cast<size_t>(chunk.replicas_size())) {
    seal.length = lengths[std::clamp<size_t>(min_copies, 1, lengths.size()) - 1];
  } else {
    seal.length = lengths.front();
  }
  for (size_t i = 0; i < answers.size(); ++i) {
    if (answers[i].ok() && answers[i]->length() >= seal.length) seal.seal_addrs.push_back(addrs[i]);
  }
  return seal;
}

// REQUIRES: `lock` holds mu_. Releases it during the chunkserver calls.
Status MasterService::SealLeftOpenChunk(const std::string& path, uint64_t epoch,
                                        std::unique_lock<std::mutex>& lock) {
  ASSIGN_OR_RETURN(InodeRecord file, ns_.CheckWriter(path, epoch));
  const ChunkRecord* last = chunks_.LastChunk(file);
  if (!last || last->sealed()) return Status::Ok();
  ChunkRecord chunk = *last;
  std::vector<std::string> addrs;
  for (const auto& r : chunk.replicas()) {
    ReplicaLocation loc = Locate(r);
    if (!loc.addr().empty()) addrs.push_back(loc.addr());
  }
  lock.unlock();
  auto answers = stub_->ChunkInfo(addrs, chunk.chunk_id(), options_.chunkserver_rpc_timeout_ms);
  lock.lock();
  // Someone else may have taken over or sealed meanwhile.
  ASSIGN_OR_RETURN(file, ns_.CheckWriter(path, epoch));
  const ChunkRecord* now = catalog_.FindChunk(chunk.chunk_id());
  if (!now || now->sealed()) return Status::Ok();
  ASSIGN_OR_RETURN(OpenChunkSeal seal, DecideSeal(*now, file.min_copies(), addrs, answers));
  ASSIGN_OR_RETURN(ChunkRecord sealed, chunks_.Seal(seal.chunk_id, seal.length, epoch));
  RefreshRecovery(sealed.chunk_id());
  RETURN_IF_ERROR(DropEmptyLastChunk(sealed.inode()));
  spdlog::info("master: sealed chunk {} of {} left open by a previous writer at {} bytes ({} of {} replicas answered)",
               sealed.chunk_id(), path, seal.length, seal.seal_addrs.size(), addrs.size());
  SealRequest req;
  req.set_chunk_id(sealed.chunk_id());
  req.set_epoch(sealed.epoch());
  req.set_length(sealed.length());
  lock.unlock();
  auto results = stub_->Seal(seal.seal_addrs, req, options_.chunkserver_rpc_timeout_ms);
  lock.lock();
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].ok()) spdlog::warn("master: seal of chunk {} on {}: {}", sealed.chunk_id(), seal.seal_addrs[i],
                                       results[i].ToString());
  }
  return Status::Ok();
}

Status MasterService::OpenWrite(const OpenWriteRequest& req, OpenWriteResponse* resp) {
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(InodeRecord file, ns_.OpenWrite(req.path()));
  RETURN_IF_ERROR(SealLeftOpenChunk(req.path(), file.writer_epoch(), lock));
  ASSIGN_OR_RETURN(file, ns_.CheckWriter(req.path(), file.writer_epoch()));
  RenewLeaseLocked(file.inode());
  *resp->mutable_info() = ToFileInfo(file);
  resp->set_writer_epoch(file.writer_epoch());
  resp->set_lease_ms(options_.writer_lease_ms);
  for (uint64_t id : file.chunks()) {
    if (const ChunkRecord* c = catalog_.FindChunk(id)) *resp->add_chunks() = ToChunkInfo(*c);
  }
  return Status::Ok();
}

// Right after the master starts, known chunkservers are still registering
// again (each within a heartbeat, or within its backoff if it noticed the
// master's outage). An allocation they could take waits for them, on its RPC
// worker thread with mu_ released, until a registration lets it be placed,
// the startup grace period ends, or half its caller's timeout has passed
// (the answer, Unavailable, must reach the caller while it still listens:
// it retries). At most startup_allocations_waiting_max wait at once, so
// registrations always find a free worker.
Status MasterService::AllocateChunk(const AllocateChunkRequest& req, AllocateChunkResponse* resp,
                                    uint32_t caller_timeout_ms) {
  std::unique_lock lock(mu_);
  const uint64_t wait_until_us = StartupWaitUntil(caller_timeout_ms);
  const uint64_t wait_start_us = clock_->NowMicros();
  for (;;) {
    // Checked again after each wait: another writer may have taken over.
    ASSIGN_OR_RETURN(InodeRecord file, ns_.CheckWriter(req.path(), req.writer_epoch()));
    RenewLeaseLocked(file.inode());
    const ChunkRecord* last = chunks_.LastChunk(file);
    if (last && !last->sealed() && last->epoch() == file.writer_epoch()) {
      // This writer's chunk is still open: it can only be asking again because
      // it lost our reply (it seals before it allocates), so give it again.
      *resp->mutable_chunk() = ToChunkInfo(*last);
      return Status::Ok();
    }
    if (last && !last->sealed()) {
      return Status::FailedPrecondition("chunk " + std::to_string(last->chunk_id()) + " of " + req.path() +
                                        " is still open: seal it before allocating the next");
    }
    PlacementRequest place;
    place.replicas = file.replication();
    place.bytes_needed = file.chunk_size();
    place.disk_free_min_bytes = options_.disk_free_min_bytes;
    place.exclude_servers.insert(req.exclude_servers().begin(), req.exclude_servers().end());
    place.allow_rack_reuse = options_.placement_rack_fallback;
    auto choices = PlaceReplicas(ServerViews(), place, random_.get());
    if (choices.ok()) return CommitNewChunk(file, *choices, resp);
    const size_t pending = RegistrationsAwaited(place);
    if (pending == 0) return choices.status();
    if (AwaitRegistration(lock, wait_until_us)) continue;
    // Too few live servers, but some known ones have not registered since
    // this master started (or stopped beating and are not dead yet): they
    // may come any moment, so the writer is told to retry, not to give up.
    const uint64_t waited_ms = (clock_->NowMicros() - wait_start_us) / 1000;
    return Status::Unavailable(choices.status().message() + " yet; " + std::to_string(pending) +
                               " more known chunkserver(s) have not registered since the master started" +
                               (waited_ms > 0 ? " (waited " + std::to_string(waited_ms) + " ms for them)" : ""));
  }
}

Status MasterService::CommitNewChunk(const InodeRecord& file, const std::vector<PlacementChoice>& choices,
                                     AllocateChunkResponse* resp) {
  std::set<std::string> racks;
  for (const auto& c : choices) racks.insert(c.rack);
  if (racks.size() < choices.size()) m_.rack_fallbacks->Add();
  ASSIGN_OR_RETURN(ChunkRecord chunk, chunks_.Allocate(file, choices));
  *resp->mutable_chunk() = ToChunkInfo(chunk);
  return Status::Ok();
}

size_t MasterService::RegistrationsAwaited(const PlacementRequest& place) const {
  size_t pending = 0, usable = 0;
  for (const auto& [id, s] : membership_.servers()) {
    pending += s.liveness == Liveness::kUnknown;
    usable += s.liveness != Liveness::kDead && !place.exclude_servers.count(id);
  }
  return usable >= place.replicas ? pending : 0;
}

uint64_t MasterService::StartupWaitUntil(uint32_t caller_timeout_ms) const {
  const uint64_t now = clock_->NowMicros();
  const uint64_t grace_end_us = started_us_ + options_.startup_grace_ms * 1000;
  if (now >= grace_end_us) return 0;
  if (caller_timeout_ms == 0) return grace_end_us;
  return std::min(grace_end_us, now + uint64_t{caller_timeout_ms} * 1000 / 2);
}

bool MasterService::AwaitRegistration(std::unique_lock<std::mutex>& lock, uint64_t until_us) {
  const uint64_t now = clock_->NowMicros();
  if (stop_waiting_ || now >= until_us || allocations_waiting_ >= options_.startup_allocations_waiting_max) {
    return false;
  }
  const uint64_t seen = registrations_;
  m_.allocations_waiting->Set(static_cast<double>(++allocations_waiting_));
  clock_->WaitFor(lock, registered_cv_, until_us - now, [&] { return stop_waiting_ || registrations_ != seen; });
  m_.allocations_waiting->Set(static_cast<double>(--allocations_waiting_));
  return !stop_waiting_;
}

void MasterService::StopWaiting() {
  std::lock_guard lock(mu_);
  stop_waiting_ = true;
  registered_cv_.notify_all();
}

Status MasterService::SealChunk(const SealChunkRequest& req, SealChunkResponse* resp) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(InodeRecord file, ns_.CheckWriter(req.path(), req.writer_epoch()));
  RenewLeaseLocked(file.inode());
  const ChunkRecord* c = catalog_.FindChunk(req.chunk_id());
  if (!c && req.length() == 0 && catalog_.gc().count(req.chunk_id())) {
    // A retry of a seal that already dropped this empty chunk.
    resp->mutable_chunk()->set_chunk_id(req.chunk_id());
    resp->mutable_chunk()->set_sealed(true);
    resp->mutable_chunk()->set_epoch(file.writer_epoch());
    return Status::Ok();
  }
  if (!c || c->inode() != file.inode()) {
    return Status::NotFound("chunk " + std::to_string(req.chunk_id()) + " is not part of " + req.path());
  }
  if (req.length() > file.chunk_size()) {
    return Status::InvalidArgument("seal length " + std::to_string(req.length()) + " exceeds the chunk size " +
                                   std::to_string(file.chunk_size()));
  }
  ASSIGN_OR_RETURN(ChunkRecord sealed, chunks_.Seal(req.chunk_id(), req.length(), file.writer_epoch()));
  RefreshRecovery(sealed.chunk_id());
  *resp->mutable_chunk() = ToChunkInfo(sealed);
  RETURN_IF_ERROR(DropEmptyLastChunk(file.inode()));
  return Status::Ok();
}

Status MasterService::CloseWrite(const CloseWriteRequest& req, CloseWriteResponse* resp) {
  std::unique_lock lock(mu_);
  ASSIGN_OR_RETURN(InodeRecord current, ns_.Stat(req.path()));
  if (!current.is_dir() && !current.write_open() && current.writer_epoch() == req.writer_epoch() &&
      req.writer_epoch() != 0) {
    *resp->mutable_info() = ToFileInfo(current);  // a retried close
    return Status::Ok();
  }
  RETURN_IF_ERROR(SealLeftOpenChunk(req.path(), req.writer_epoch(), lock));
  RETURN_IF_ERROR(ns_.CloseWrite(req.path(), req.writer_epoch()));
  ASSIGN_OR_RETURN(InodeRecord file, ns_.Stat(req.path()));
  // A temporary file keeps its lease until it is renamed into place.
  if (!file.temporary()) lease_renewed_us_.erase(file.inode());
  *resp->mutable_info() = ToFileInfo(file);
  return Status::Ok();
}

Status MasterService::RenewLease(const RenewLeaseRequest& req, RenewLeaseResponse*) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(InodeRecord file, ns_.CheckWriter(req.path(), req.writer_epoch()));
  RenewLeaseLocked(file.inode());
  return Status::Ok();
}

void MasterService::RenewLeaseLocked(uint64_t inode) { lease_renewed_us_[inode] = clock_->NowMicros(); }

void MasterService::SeedLeasesLocked() {
  const uint64_t now = clock_->NowMicros();
  for (const auto& [id, c] : catalog_.chunks()) {
    if (!c.sealed()) lease_renewed_us_.try_emplace(c.inode(), now);
  }
  for (const auto& [inode, rec] : catalog_.inodes()) {
    if (rec.temporary()) lease_renewed_us_.try_emplace(inode, now);
  }
}

std::vector<std::string> MasterService::ExpiredLeasesLocked() {
  const uint64_t now = clock_->NowMicros();
  std::vector<std::string> expired;
  for (auto it = lease_renewed_us_.begin(); it != lease_renewed_us_.end();) {
    const InodeRecord* f = catalog_.FindInode(it->first);
    const ChunkRecord* last = f ? chunks_.LastChunk(*f) : nullptr;
    bool open_chunk = last != nullptr && !last->sealed();
    // Closed (and not temporary) or deleted: nothing to watch.
    if (!f || (!f->temporary() && !f->write_open() && !open_chunk)) {
      it = lease_renewed_us_.erase(it);
      continue;
    }
    if ((open_chunk || f->temporary()) && now - it->second > options_.writer_lease_ms * 1000) {
      expired.push_back(ns_.PathOf(it->first));
    }
    ++it;
  }
  return expired;
}

void MasterService::ExpireLease(const std::string& path) {
  std::unique_lock lock(mu_);
  // The writer may have renewed since the tick looked.
  auto current = ns_.Stat(path);
  if (!current.ok()) return;
  auto renewed = lease_renewed_us_.find(current->inode());
  if (renewed == lease_renewed_us_.end() ||
      clock_->NowMicros() - renewed->second <= options_.writer_lease_ms * 1000) {
    return;
  }
  if (current->temporary()) {
    RemoveAbandonedTemporary(path, current->inode());
    return;
  }
  auto file = ns_.OpenWrite(path);  // fences the writer that is gone
  if (!file.ok()) return;
  Status st = SealLeftOpenChunk(path, file->writer_epoch(), lock);
  if (st.ok()) st = ns_.CloseWrite(path, file->writer_epoch());
  if (!st.ok()) {
    spdlog::warn("master: writer lease of {} expired; taking it over failed: {}", path, st.ToString());
    return;  // the lease stays expired: the next tick tries again
  }
  lease_renewed_us_.erase(file->inode());
  m_.leases_expired->Add();
  spdlog::info("master: writer lease of {} expired after {} ms of silence: its open chunk is sealed and the file "
               "closed", path, options_.writer_lease_ms);
}

// A temporary file is a writer's scratch copy that only its writer would
// rename into place; with the writer gone nobody will, so the file goes (its
// chunks, the open one too, to garbage collection). Deleting it fences the
// writer: any later call of it finds no file. REQUIRES: mu_ held.
void MasterService::RemoveAbandonedTemporary(const std::string& path, uint64_t inode) {
  Status st = ns_.Delete(path, false);
  if (!st.ok()) {
    spdlog::warn("master: writer lease of temporary file {} expired; removing it failed: {}", path, st.ToString());
    return;  // the lease stays expired: the next tick tries again
  }
  ForgetRetired();
  lease_renewed_us_.erase(inode);
  m_.leases_expired->Add();
  spdlog::info("master: writer lease of temporary file {} expired after {} ms of silence: the file is removed", path,
               options_.writer_lease_ms);
}

}  // namespace strata::dfs::master
