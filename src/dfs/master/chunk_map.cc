#include "dfs/master/chunk_map.h"

#include <algorithm>
#include <functional>

namespace strata::dfs::master {

Result<ChunkRecord> ChunkMap::Allocate(const InodeRecord& file, const std::vector<PlacementChoice>& replicas) {
  const ChunkRecord* last = LastChunk(file);
  if (last && !last->sealed()) {
    return Status::FailedPrecondition("chunk " + std::to_string(last->chunk_id()) + " is still open: seal it first");
  }
  CountersRecord counters = catalog_->counters();
  ChunkRecord c;
  c.set_chunk_id(counters.next_chunk_id());
  counters.set_next_chunk_id(c.chunk_id() + 1);
  c.set_inode(file.inode());
  c.set_file_offset(last ? last->file_offset() + last->length() : 0);
  c.set_epoch(file.writer_epoch());
  c.set_replication(file.replication());
  for (const auto& r : replicas) {
    auto* rep = c.add_replicas();
    rep->set_server_id(r.server_id);
    rep->set_disk(r.disk);
  }
  InodeRecord updated = file;
  updated.add_chunks(c.chunk_id());
  updated.set_mtime_us(clock_->WallMicros());
  Mutation m;
  m.PutChunk(c);
  m.PutInode(updated);
  m.PutCounters(counters);
  RETURN_IF_ERROR(catalog_->Commit(m));
  return c;
}

Result<ChunkRecord> ChunkMap::Seal(uint64_t chunk_id, uint64_t length, uint64_t epoch) {
  const ChunkRecord* cur = catalog_->FindChunk(chunk_id);
  if (!cur) return Status::NotFound("chunk " + std::to_string(chunk_id) + " does not exist");
  if (cur->sealed()) {
    if (cur->length() == length) return *cur;
    return Status::FailedPrecondition("chunk " + std::to_string(chunk_id) + " is already sealed at " +
                                      std::to_string(cur->length()) + " bytes");
  }
  ChunkRecord c = *cur;
  c.set_sealed(true);
  c.set_length(length);
  c.set_epoch(std::max(c.epoch(), epoch));
  Mutation m;
  m.PutChunk(c);
  RETURN_IF_ERROR(catalog_->Commit(m));
  reported_.erase(chunk_id);
  sealed_at_us_[chunk_id] = clock_->NowMicros();
  return c;
}

const ChunkRecord* ChunkMap::LastChunk(const InodeRecord& file) const {
  if (file.chunks_size() == 0) return nullptr;
  return catalog_->FindChunk(file.chunks(file.chunks_size() - 1));
}

uint64_t ChunkMap::KnownLength(const ChunkRecord& c, uint32_t min_copies) const {
  if (c.sealed()) return c.length();
  const auto* reports = ReportedLengths(c.chunk_id());
  if (!reports || reports->empty()) return 0;
  std::vector<uint64_t> lengths;
  for (const auto& [server, len] : *reports) lengths.push_back(len);
  std::sort(lengths.begin(), lengths.end(), std::greater<>());
  size_t k = std::clamp<size_t>(min_copies, 1, lengths.size());
  return lengths[k - 1];
}

uint64_t ChunkMap::FileSize(const InodeRecord& file) const {
  const ChunkRecord* last = LastChunk(file);
  if (!last) return 0;
  return last->file_offset() + KnownLength(*last, file.min_copies());
}

void ChunkMap::NoteReportedLength(uint64_t chunk_id, const std::string& server, uint64_t length) {
  reported_[chunk_id][server] = length;
}

const std::map<std::string, uint64_t>* ChunkMap::ReportedLengths(uint64_t chunk_id) const {
  auto it = reported_.find(chunk_id);
  return it == reported_.end() ? nullptr : &it->second;
}

bool ChunkMap::SealedWithin(uint64_t chunk_id, uint64_t micros) const {
  auto it = sealed_at_us_.find(chunk_id);
  return it != sealed_at_us_.end() && clock_->NowMicros() - it->second < micros;
}

void ChunkMap::Forget(uint64_t chunk_id) {
  reported_.erase(chunk_id);
  sealed_at_us_.erase(chunk_id);
}

void ChunkMap::PruneSealTimes(uint64_t micros) {
  uint64_t now = clock_->NowMicros();
  std::erase_if(sealed_at_us_, [&](const auto& kv) { return now - kv.second >= micros; });
}

bool ChunkMap::HasReplica(const ChunkRecord& c, const std::string& server) {
  for (const auto& r : c.replicas()) {
    if (r.server_id() == server) return true;
  }
  return false;
}

ChunkRecord ChunkMap::WithReplicaDisk(ChunkRecord c, const std::string& server, uint32_t disk) {
  for (auto& r : *c.mutable_replicas()) {
    if (r.server_id() == server) r.set_disk(disk);
  }
  return c;
}

bool ChunkMap::ReplicaDiskDiffers(const ChunkRecord& c, const std::string& server, uint32_t disk) {
  for (const auto& r : c.replicas()) {
    if (r.server_id() == server) return r.disk() != disk;
  }
  return false;
}

ChunkRecord ChunkMap::WithoutReplica(ChunkRecord c, const std::string& server) {
  auto* reps = c.mutable_replicas();
  for (int i = 0; i < reps->size(); ++i) {
    if (reps->Get(i).server_id() == server) {
      reps->DeleteSubrange(i, 1);
      break;
    }
  }
  return c;
}

ChunkRecord ChunkMap::WithReplica(ChunkRecord c, const std::string& server, uint32_t disk) {
  if (HasReplica(c, server)) return c;
  auto* rep = c.add_replicas();
  rep->set_server_id(server);
  rep->set_disk(disk);
  return c;
}

}  // namespace strata::dfs::master
